#!/usr/bin/env python3
"""Writes bench JSON lines as a markdown table into docs/performance.md, replacing the
section for the device (between '<!-- bench:DEVICE:begin -->' and '<!-- bench:DEVICE:end -->')."""
import json
import platform
import subprocess
import sys


def main():
    src, doc, device = sys.argv[1:4]
    rows = [json.loads(line) for line in open(src) if line.strip()]
    cpu = subprocess.run(["sh", "-c", "lscpu | sed -n 's/^Model name: *//p'"], capture_output=True, text=True).stdout.strip()
    lines = [f"<!-- bench:{device}:begin -->",
             f"Measured with `scripts/bench_transformer.sh` ({'DEVICE=' + device if device != 'cpu' else 'CPU'}; "
             f"{cpu or platform.processor()}, LibTorch {rows[0].get('libtorch', '?') if rows else '?'}).",
             "",
             "| model | what | batch | steps | CFG | text tokens | dtype | threads | OMP wait | median s | min s | max s | images/s | ≈TFLOP/s | peak RSS MB |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['what']} | {r['batch']} | {r['steps']} | {r['guidance']} | {r['text_tokens']} | "
                     f"{r['dtype']} | {r['threads']} | {r['omp_wait_policy'] or 'unset'} | {r['median_s']:.3f} | {r['min_s']:.3f} | {r['max_s']:.3f} | {r['images_per_s']:.2f} | "
                     f"{r['approx_tflops']:.3f} | {r['peak_rss_mb']:.0f} |")
    lines.append(f"<!-- bench:{device}:end -->")
    block = "\n".join(lines)
    try:
        text = open(doc).read()
    except FileNotFoundError:
        text = "# Performance\n"
    begin, end = f"<!-- bench:{device}:begin -->", f"<!-- bench:{device}:end -->"
    if begin in text and end in text:
        text = text[:text.index(begin)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip() + "\n\n## Transformer benchmarks (" + device + ")\n\n" + block + "\n"
    open(doc, "w").write(text)


if __name__ == "__main__":
    main()
