"""The driver shared by the per-model reference oracles (clip_oracle.py,
t5_oracle.py, vae_oracle.py): each is run as `python3 tests/reference/X_oracle.py
SEED OUT_DIR`, draws one random case per row of its COVERAGE table from SEED and
writes, per case K, OUT_DIR/case_K/ (the model folder and io.safetensors), then
OUT_DIR/cases.json, which the C++ tests read through
flowgrpo::testing::run_coverage_oracle (tests/support/test_support.h). They import
this module as a sibling: a script run by path has its own folder on sys.path.
"""
import json
import os
import random
import sys

import torch
from safetensors.torch import save_file


def save_io(tensors, case_dir):
    """Writes `tensors` (name -> tensor) to CASE_DIR/io.safetensors, each as its own
    contiguous copy (safetensors refuses tensors that share storage)."""
    save_file({k: v.detach().clone().contiguous() for k, v in tensors.items()},
              os.path.join(case_dir, "io.safetensors"))


def run_coverage(argv, usage, coverage, make_case):
    """The oracle's main: `argv` is [script, SEED, OUT_DIR] (otherwise `usage` goes to
    stderr and the exit status is 2). Seeds random.Random(SEED) and a torch
    Generator with SEED (torch's global generator with 0, for module construction),
    calls make_case(r, gen, OUT_DIR/case_K, *row) for row K of `coverage`, and writes
    the returned summaries to OUT_DIR/cases.json as {"seed", "cases"}. Returns the
    exit status."""
    if len(argv) != 3:
        sys.stderr.write(usage)
        return 2
    seed, out_dir = int(argv[1]), argv[2]
    r = random.Random(seed)
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(0)
    cases = []
    for k, row in enumerate(coverage):
        case_dir = os.path.join(out_dir, "case_%d" % k)
        os.makedirs(case_dir, exist_ok=True)
        cases.append(make_case(r, gen, case_dir, *row))
    with open(os.path.join(out_dir, "cases.json"), "w") as f:
        json.dump({"seed": seed, "cases": cases}, f, indent=1)
    return 0
