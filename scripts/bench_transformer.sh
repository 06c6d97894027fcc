#!/usr/bin/env bash
# The standard transformer benchmarks (flowgrpo-tool bench), printed as JSON lines
# and written as a table to docs/performance.md (section "Transformer benchmarks").
#   ./scripts/bench_transformer.sh            # CPU set
#   DEVICE=cuda ./scripts/bench_transformer.sh   # GPU set: SD3.5-Medium at 512² in bf16
# Thread settings and the LibTorch version are part of every JSON line.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
tool="$build_dir/apps/flowgrpo-tool"
[ -x "$tool" ] || { echo "build flowgrpo-tool first (cmake --build $build_dir --target flowgrpo-tool)" >&2; exit 1; }
device=${DEVICE:-cpu}
out=${OUT:-$build_dir/bench_transformer.jsonl}
: > "$out"

run() { "$tool" bench --device "$device" "$@" | tee -a "$out"; }

if [ "$device" = cpu ]; then
  # The ShapesEval model (as trained here) in both dtypes: one forward, a 10-step
  # rollout, the GRPO update of that rollout (this CPU has AVX-512 BF16).
  for dtype in float32 bfloat16; do
    run --model configs/shapes_model --what forward --batch 64 --text-tokens 12 --guidance 1 --dtype $dtype --reps 5
    run --model configs/shapes_model --what rollout --batch 32 --steps 10 --text-tokens 12 --dtype $dtype --reps 3
    run --model configs/shapes_model --what train --batch 32 --steps 10 --text-tokens 12 --dtype $dtype --reps 2
  done
  run --model configs/shapes_model --what rollout --batch 32 --steps 40 --text-tokens 12 --reps 2
  # Threads: LibTorch's intra-op threads x OpenMP's wait policy ("" = libgomp's
  # default, spin a while then sleep, which the executables keep).
  for policy in "" passive active; do
    for threads in 1 2; do
      OMP_WAIT_POLICY=$policy run --model configs/shapes_model --what rollout --batch 32 --steps 10 \
        --text-tokens 12 --threads $threads --reps 3
      OMP_WAIT_POLICY=$policy run --model configs/shapes_model --what train --batch 32 --steps 10 \
        --text-tokens 12 --threads $threads --reps 2
    done
  done
  run --model tests/data/sd3_tiny --what forward --batch 8 --text-tokens 7 --reps 10
  for dtype in float32 bfloat16; do
    run --model configs/bench/sd3_mid --what forward --batch 4 --text-tokens 205 --dtype $dtype --reps 3
  done
  run --model configs/bench/sd3_mid --what rollout --batch 2 --steps 10 --text-tokens 205 --reps 2
else
  run --model configs/bench/sd35_medium --what forward --batch 8 --text-tokens 205 --dtype bfloat16 --reps 10
  run --model configs/bench/sd35_medium --what rollout --batch 8 --steps 10 --text-tokens 205 --dtype bfloat16 --reps 3
  run --model configs/bench/sd35_medium --what train --batch 4 --steps 10 --text-tokens 205 --dtype bfloat16 --reps 2
fi
python3 scripts/bench_table.py "$out" docs/performance.md "$device"
