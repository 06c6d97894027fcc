#!/usr/bin/env bash
# The trainer's gradient all-reduce (dist::GradientReducer) against its bucket size, on
# gradients shaped like the SD3.5-M LoRA r = 32 adapter (18,776,064 float32 in 384
# tensors, 75 MB): N ranks launched by torchrun on this machine, Gloo on CPU (NCCL
# where the build and the machine have CUDA). Prints one JSON line per setting (median
# of 5 reductions; algbw = bytes / time, busbw = algbw x 2(N-1)/N as nccl-tests do).
#
#   ./scripts/bench_allreduce.sh [N=2] [BUCKET_MB=1,4,16,25,64,0]   # 0 = one bucket
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
ranks=${1:-2}
buckets=${2:-1,4,16,25,64,0}
python=${FLOWGRPO_PYTHON:-.venv/bin/python}
[ -x "$build_dir/apps/flowgrpo-tool" ] || { echo "bench_allreduce: build $build_dir/apps/flowgrpo-tool first" >&2; exit 1; }
port=$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
OMP_NUM_THREADS=1 "$python" -m torch.distributed.run --nproc-per-node "$ranks" --master-port "$port" --no-python \
  "$build_dir/apps/flowgrpo-tool" allreduce-bench --bucket-mb "$buckets" 2>/dev/null | grep '^{'
