#!/usr/bin/env python3
"""Prints the before/after table of two evaluations: flowgrpo-eval metrics.json files,
or a flowgrpo-train metrics.jsonl (its first evaluation, the base model at epoch 0)."""
import argparse
import json


def load(path):
    if path.endswith(".jsonl"):
        with open(path) as f:
            for line in f:
                row = json.loads(line)
                if "eval" in row:
                    return row["eval"]
        raise SystemExit("no evaluation row in " + path)
    with open(path) as f:
        return json.load(f)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--train-seconds", type=float, default=None)
    args = ap.parse_args()
    before = load(args.before)
    after = load(args.after)

    def pct(x):
        return "   n/a" if x is None else f"{100.0 * x:5.1f}%"

    print(f"{'tag':<16} {'images':>6} {'before':>8} {'after':>8} {'change':>8}")
    tags = sorted(set(before["by_tag"]) | set(after["by_tag"]))
    rows = [(t, before["by_tag"].get(t, {}), after["by_tag"].get(t, {})) for t in tags]
    rows.append(("overall", before["overall"], after["overall"]))
    for tag, b, a in rows:
        sb, sa = b.get("strict_accuracy"), a.get("strict_accuracy")
        change = "" if sb is None or sa is None else f"{100.0 * (sa - sb):+7.1f}"
        count = a.get("count", after.get("num_images", ""))
        print(f"{tag:<16} {count!s:>6} {pct(sb):>8} {pct(sa):>8} {change:>8}")
    print(f"strict accuracy, {after['num_steps']}-step ODE sampling, {after['num_images']} images")
    if args.train_seconds is not None:
        print(f"training wall time: {args.train_seconds / 60.0:.1f} min")


if __name__ == "__main__":
    main()
