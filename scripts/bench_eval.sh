#!/usr/bin/env bash
# End-to-end cost of flowgrpo-eval on the ShapesEval base model (40-step ODE, CFG):
# the executable's defaults, without its allocator tuning (FLOWGRPO_MALLOC_TUNING=0,
# include/flowgrpo/common/process.h), and with one LibTorch thread (--threads 1).
# Prints one JSON line per setting: wall, user and system seconds, minor page faults
# and peak resident memory from GNU time.
#
#   ./scripts/bench_eval.sh [PROMPTS.jsonl]   # default: the 28 held-out prompts (112 images)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
prompts=${1:-assets/shapes/prompts/held_out_metadata.jsonl}
[ -x /usr/bin/time ] || { echo "bench_eval: needs GNU time (apt-get install time)" >&2; exit 1; }
[ -x "$build_dir/apps/flowgrpo-eval" ] || { echo "bench_eval: build $build_dir/apps/flowgrpo-eval first" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
run() {  # name, malloc tuning, extra flowgrpo-eval flags...
  local name=$1 tuning=$2
  shift 2
  FLOWGRPO_MALLOC_TUNING=$tuning /usr/bin/time -o "$tmp/time" -f "%e %U %S %R %M" \
    "$build_dir/apps/flowgrpo-eval" --config configs/shapes.yaml --prompts "$prompts" \
    --output-dir "$tmp/$name" "$@" >"$tmp/log" 2>&1 || { cat "$tmp/log" >&2; exit 1; }
  read -r wall user sys minflt rss_kb <"$tmp/time"
  images=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['num_images'])" "$tmp/$name/metrics.json")
  printf '{"bench": "flowgrpo-eval", "libtorch": "%s", "omp_wait_policy": "%s", "setting": "%s", "prompts": "%s", "images": %s, "malloc_tuning": %s, "flags": "%s", "cpus": %s, "wall_s": %s, "user_s": %s, "sys_s": %s, "minor_faults": %s, "peak_rss_mb": %s}\n' \
    "$("$build_dir/apps/flowgrpo-tool" --version | sed -n 's/.*LibTorch \([^,]*\),.*/\1/p')" "${OMP_WAIT_POLICY:-}" \
    "$name" "$prompts" "$images" "$tuning" "$*" "$(nproc)" "$wall" "$user" "$sys" "$minflt" "$((rss_kb / 1024))"
}
run defaults 1
run no_malloc_tuning 0
run one_torch_thread 1 --threads 1
OMP_WAIT_POLICY=passive run omp_passive 1
OMP_WAIT_POLICY=active run omp_active 1
