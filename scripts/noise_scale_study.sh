#!/usr/bin/env bash
# Design by measurement (docs/shapes.md): the policy gradient's noise scale
# B_noise = tr(Sigma) / |G|^2 at a fixed policy, for one sampler/training design per
# line of overrides, on the base model of the given config. Each design runs
# flowgrpo-train with lr 1e-12 (the policy stays put), 8 micro-batches of 16 images
# per optimizer step, each micro-batch whole GRPO groups (train.group_micro_batches:
# micro-batches that share a group are not independent and bias the estimate), and
# train.gradient_noise_scale; then scripts/noise_scale.py prints one JSON line:
# B_noise, its 2-s.e. lower bound, images/s.
#
#   ./scripts/noise_scale_study.sh [CONFIG] [EPOCHS]   # default configs/shapes.yaml, 8
#   DESIGNS=my_designs.txt ./scripts/noise_scale_study.sh  # "label --set k=v ..." per line
#   EXTRA="--threads 1" OUT=runs/ns_a ./scripts/noise_scale_study.sh   # flags for every design
set -euo pipefail
cd "$(dirname "$0")/.."
config=${1:-configs/shapes.yaml}
epochs=${2:-8}
build_dir=${BUILD_DIR:-build}
out=${OUT:-runs/noise_scale}
mkdir -p "$out"

default_designs='full_sde
window_late --set sample.sde_window_size=2 --set sample.sde_window_range=[6,9]
window_early --set sample.sde_window_size=2 --set sample.sde_window_range=[0,3]
window_early_same_latent --set sample.sde_window_size=2 --set sample.sde_window_range=[0,3] --set sample.same_latent=true
noise_1.0 --set sample.noise_level=1.0
group_16 --set sample.num_image_per_prompt=16'
designs=$(if [ -n "${DESIGNS:-}" ]; then cat "$DESIGNS"; else echo "$default_designs"; fi)

while read -r label overrides; do
  [ -z "$label" ] && continue
  dir="$out/$label"
  rm -rf "$dir"
  # shellcheck disable=SC2086  # the overrides are words on purpose
  "$build_dir/apps/flowgrpo-train" --config "$config" --output-dir "$dir" \
    --set train.learning_rate=1e-12 --set train.gradient_noise_scale=true \
    --set sample.train_batch_size=16 --set sample.num_batches_per_epoch=8 \
    --set train.gradient_accumulation_steps=8 --set train.num_epochs="$epochs" \
    --set train.eval_freq=0 --set train.save_freq=0 --set train.ema=false \
    --set train.group_micro_batches=true ${EXTRA:-} $overrides \
    > "$dir.log" 2>&1 || { echo "{\"label\": \"$label\", \"error\": \"see $dir.log\"}"; continue; }
  python3 scripts/noise_scale.py "$dir/metrics.jsonl" --label "$label" || echo "{\"label\": \"$label\", \"error\": \"no estimate\"}"
done <<< "$designs"
