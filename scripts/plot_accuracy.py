#!/usr/bin/env python3
"""Plots evaluation strict accuracy over epochs from a flowgrpo-train metrics.jsonl with gnuplot."""
import argparse
import json
import subprocess
import sys
import tempfile


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("metrics", help="flowgrpo-train's metrics.jsonl")
    parser.add_argument("png", help="output PNG")
    parser.add_argument("--eval", action="append", default=[], metavar="EPOCH=METRICS_JSON",
                        help="also plot a flowgrpo-eval metrics.json of the checkpoint taken at EPOCH")
    args = parser.parse_args()
    evals = {}  # epoch -> (overall strict accuracy, {tag: strict accuracy}); later rows win
    rewards = {}  # epoch -> mean training reward of the epoch's rollouts; later rows win (resumed runs)

    def add_eval(epoch, ev):
        evals[epoch] = (ev["overall"]["strict_accuracy"],
                        {t: v["strict_accuracy"] for t, v in ev["by_tag"].items()})

    with open(args.metrics) as f:
        for line in f:
            m = json.loads(line)
            if isinstance(m.get("reward"), (int, float)):
                rewards[m["epoch"]] = m["reward"]
            if "eval" in m:
                add_eval(m["epoch"], m["eval"])
    for spec in args.eval:
        epoch, _, path = spec.partition("=")
        with open(path) as f:
            add_eval(int(epoch), json.load(f))
    if not evals:
        sys.exit("no evaluation rows in " + args.metrics + " and no --eval given")
    rows = [(e, *evals[e]) for e in sorted(evals)]
    rewards = sorted(rewards.items())
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
        f"set output '{args.png}'",
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
