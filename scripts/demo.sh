#!/usr/bin/env bash
# The main job on the embedded default: Flow-GRPO on ShapesEval with the bundled
# base model. Sets up a fresh Debian 12 machine, builds, trains (evaluating the base
# model first), evaluates the result and prints the before/after table.
#
#   ./scripts/demo.sh                      # everything, results in runs/shapes_demo
#   OUT=runs/x ./scripts/demo.sh --set train.num_epochs=5   # extra flags go to flowgrpo-train
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh

build_dir=${BUILD_DIR:-build}
generator=()
if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi
if [ -f "$build_dir/CMakeCache.txt" ] && [ ${#generator[@]} -gt 0 ] && ! grep -q "CMAKE_GENERATOR:INTERNAL=Ninja" "$build_dir/CMakeCache.txt"; then
  rm -rf "$build_dir"
fi
cmake -S . -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build_dir" -j "$(nproc)" --target flowgrpo-train flowgrpo-eval

out=${OUT:-runs/shapes_demo}
config=${CONFIG:-configs/shapes.yaml}
model=$("$build_dir/apps/flowgrpo-train" --config "$config" --dump-config | awk '/^model:/ {m = 1} m && /^  pretrained:/ {gsub(/"/, "", $2); print $2; exit}')
if [ ! -f "$model/model_index.json" ]; then
  echo "demo: the base model of $config is not in ${model:-?} yet." >&2
  echo "      Pretrain it (docs/shapes.md, 'The latent base model'):" >&2
  echo "        ./build/apps/flowgrpo-pretrain --config configs/shapes_vae.yaml" >&2
  echo "        ./build/apps/flowgrpo-pretrain --config configs/shapes_latent_pretrain.yaml" >&2
  echo "      then copy runs/shapes_latent_pretrain/model to $model." >&2
  exit 1
fi
mkdir -p "$out"
# Fresh run each time: a previous run's checkpoints would be resumed otherwise.
rm -rf "$out/checkpoints" "$out/metrics.jsonl"

# flowgrpo-train evaluates the base model at epoch 0, every train.eval_freq epochs and
# the final policy (metrics.jsonl); flowgrpo-eval then evaluates the saved adapter
# through the user-facing path and draws the image grids.
echo "== 1/2 training with Flow-GRPO ($config)"
start=$(date +%s)
"$build_dir/apps/flowgrpo-train" --config "$config" --output-dir "$out" "$@"
train_seconds=$(( $(date +%s) - start ))

echo "== 2/2 evaluating the trained adapter"
"$build_dir/apps/flowgrpo-eval" --config "$config" --checkpoint "$out/checkpoints/latest" --output-dir "$out/eval_final"

python3 scripts/compare_evals.py "$out/metrics.jsonl" "$out/eval_final/metrics.json" \
  --train-seconds "$train_seconds"
if command -v gnuplot >/dev/null 2>&1; then
  python3 scripts/plot_accuracy.py "$out/metrics.jsonl" "$out/accuracy.png" && echo "plot: $out/accuracy.png"
fi
