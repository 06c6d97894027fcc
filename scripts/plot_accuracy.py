#!/usr/bin/env python3
"""Plots evaluation strict accuracy over epochs from a flowgrpo-train metrics.jsonl with gnuplot."""
import json
import subprocess
import sys
import tempfile


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: plot_accuracy.py METRICS.jsonl OUT.png")
    rows = []
    rewards = []  # (epoch, mean training reward of the epoch's rollouts)
    with open(sys.argv[1]) as f:
        for line in f:
            m = json.loads(line)
            if isinstance(m.get("reward"), (int, float)):
                rewards.append((m["epoch"], m["reward"]))
            if "eval" in m:
                ev = m["eval"]
                rows.append((m["epoch"], ev["overall"]["strict_accuracy"],
                             {t: v["strict_accuracy"] for t, v in ev["by_tag"].items()}))
    if not rows:
        sys.exit("no evaluation rows in " + sys.argv[1])
    tags = sorted(rows[0][2])
    with tempfile.NamedTemporaryFile("w", suffix=".dat", delete=False) as data:
        for epoch, overall, by_tag in rows:
            data.write(" ".join(str(x) for x in [epoch, 100 * overall] + [100 * by_tag.get(t, 0) for t in tags]) + "\n")
    with tempfile.NamedTemporaryFile("w", suffix=".dat", delete=False) as reward_data:
        for epoch, reward in rewards:
            reward_data.write(f"{epoch} {100 * reward}\n")
    plots = [f"'{data.name}' using 1:2 with linespoints lw 3 title 'overall (test, strict)'"]
    plots += [f"'{data.name}' using 1:{i + 3} with linespoints dt 2 title '{t}'" for i, t in enumerate(tags)]
    if rewards:
        plots.append(f"'{reward_data.name}' using 1:2 with lines lc rgb 'gray' title 'training reward x100'")
    script = "\n".join([
        "set terminal pngcairo size 900,560 noenhanced" if has_cairo() else "set terminal png size 900,560 noenhanced",
        f"set output '{sys.argv[2]}'",
        "set title 'ShapesEval strict accuracy during Flow-GRPO training'",
        "set xlabel 'epoch'", "set ylabel 'strict accuracy (%)'", "set yrange [0:100]", "set grid",
        "set key outside right", "plot " + ", ".join(plots),
    ])
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


def has_cairo():
    out = subprocess.run(["gnuplot", "-e", "set terminal"], capture_output=True, text=True)
    return "pngcairo" in (out.stdout + out.stderr)


if __name__ == "__main__":
    main()
