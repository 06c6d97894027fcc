#!/usr/bin/env python3
"""Summarises a flowgrpo-train run made with train.gradient_noise_scale: true (and a
learning rate small enough to keep the policy fixed, e.g. 1e-12) as one JSON line:
the mean and standard error of the per-step |G|^2 and tr(Sigma) estimates, the noise
scale B_noise = mean tr(Sigma) / mean |G|^2 (images per optimizer step at which a
step's noise equals its signal), its lower bound at |G|^2 + 2 s.e., and the images/s
of sampling plus training (docs/shapes.md, "Design by measurement"). When the run logged
per-timestep estimates (gns_grad_sq_t<j>, gns_trace_t<j>: the share of the gradient
from the j-th trained transition), "timesteps" gives each one's |G_j|^2, tr(Sigma_j), its
share of the summed noise and its own B_noise."""
import argparse
import json
import math


def mean_se(xs):
    n = len(xs)
    m = sum(xs) / n
    if n < 2:
        return m, float("nan")
    var = sum((x - m) ** 2 for x in xs) / (n - 1)
    return m, math.sqrt(var / n)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("metrics", help="the run's metrics.jsonl")
    ap.add_argument("--label", default="", help="design name copied into the output")
    ap.add_argument("--skip-epochs", type=int, default=0, help="leading epochs to leave out (warm-up)")
    args = ap.parse_args()
    grad_sq, trace, seconds, images = [], [], 0.0, 0
    per_t = {}  # j -> ([grad_sq], [trace])
    with open(args.metrics) as f:
        for line in f:
            row = json.loads(line)
            if "steps" not in row or row.get("epoch", 0) < args.skip_epochs:
                continue
            for step in row["steps"]:
                if step.get("gns_grad_sq") is not None:
                    grad_sq.append(step["gns_grad_sq"])
                    trace.append(step["gns_trace"])
                for key, value in step.items():
                    if key.startswith("gns_grad_sq_t") and value is not None:
                        j = int(key[len("gns_grad_sq_t"):])
                        g_list, t_list = per_t.setdefault(j, ([], []))
                        g_list.append(value)
                        t_list.append(step["gns_trace_t%d" % j])
            seconds += row.get("time_sampling_s", 0.0) + row.get("time_train_s", 0.0)
            images += row.get("num_images", 0) or 0
    if not grad_sq:
        raise SystemExit(args.metrics + ": no gns_grad_sq in any step (run with train.gradient_noise_scale: true)")
    g, g_se = mean_se(grad_sq)
    t, t_se = mean_se(trace)
    out = {
        "label": args.label,
        "steps": len(grad_sq),
        "grad_sq": g,
        "grad_sq_se": g_se,
        "trace": t,
        "trace_se": t_se,
        "b_noise": t / g if g > 0 else None,
        "b_noise_lower_bound": t / (g + 2 * g_se) if g + 2 * g_se > 0 else None,
        "signal_detected": g > 2 * g_se,
        "images_per_s": images / seconds if seconds > 0 and images else None,
    }
    if per_t:
        total_trace = sum(sum(t) / len(t) for _, t in per_t.values())
        rows = []
        for j in sorted(per_t):
            gj, gj_se = mean_se(per_t[j][0])
            tj, _ = mean_se(per_t[j][1])
            rows.append({
                "t": j,
                "grad_sq": gj,
                "grad_sq_se": gj_se,
                "trace": tj,
                "trace_share": tj / total_trace if total_trace > 0 else None,
                "b_noise": tj / gj if gj > 0 else None,
                "signal_detected": gj > 2 * gj_se,
            })
        out["timesteps"] = rows
    print(json.dumps(out))


if __name__ == "__main__":
    main()
