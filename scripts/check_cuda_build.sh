#!/usr/bin/env bash
# Compile-and-link check of every CUDA / NCCL code path, on a machine without a GPU.
#
# Installs the torch 2.14.1 CUDA wheel into a second virtual environment
# (.venv-cuda/, git-ignored, ~5.5 GB), configures flowgrpo against its LibTorch with
# FLOWGRPO_WITH_CUDA=ON (CUDA toolkit: $CUDA_HOME or /usr/local/cuda; cuDNN and NCCL
# headers from the wheel's nvidia-* packages, so they match what torch was built
# with) and builds the library, the executables and the tests. Nothing is run: there
# is no GPU here. Run it after any change to CUDA/NCCL code, compat.h or the build.
#
#   ./scripts/check_cuda_build.sh            venv + configure + build (build-cuda/)
#   JOBS=1 BUILD_DIR=build-cuda2 ./scripts/check_cuda_build.sh
set -euo pipefail
cd "$(dirname "$0")/.."

venv=${CUDA_VENV:-.venv-cuda}
build_dir=${BUILD_DIR:-build-cuda}
jobs=${JOBS:-$(nproc)}
torch_pin=torch==2.14.1
cuda_home=${CUDA_HOME:-/usr/local/cuda}
start=$(date +%s)

./scripts/setup.sh >/dev/null  # Debian packages (the .venv is not used here)

if [ ! -x "$cuda_home/bin/nvcc" ]; then
  echo "[check_cuda_build] error: no CUDA toolkit at $cuda_home (set CUDA_HOME; needs nvcc 12.x/13.x)" >&2
  exit 1
fi

python=${PYTHON:-$(command -v python3.11 || command -v python3)}
if [ ! -x "$venv/bin/python" ]; then "$python" -m venv "$venv"; fi
if ! "$venv/bin/python" -c 'import torch, sys; sys.exit(0 if torch.__version__.startswith("2.14.1") and torch.version.cuda else 1)' 2>/dev/null; then
  echo "[check_cuda_build] installing $torch_pin (CUDA build) into $venv"
  if ! "$venv/bin/python" -m pip install -q --disable-pip-version-check --only-binary=:all: "$torch_pin"; then
    echo "[check_cuda_build] error: could not install $torch_pin for $("$python" --version 2>&1);" \
         "this check needs the CUDA wheel (on this project's machines it lies on disk for CPython 3.11)" >&2
    exit 1
  fi
fi
torch_prefix=$("$venv/bin/python" -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
torch_cuda=$("$venv/bin/python" -c 'import torch; print(torch.version.cuda)')
echo "[check_cuda_build] LibTorch $("$venv/bin/python" -c 'import torch; print(torch.__version__)') (CUDA $torch_cuda)," \
     "nvcc $("$cuda_home/bin/nvcc" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p')"

# cuDNN / NCCL / cuBLAS etc. come as nvidia-* wheels; CMake's FindCUDAToolkit and
# LibTorch's Caffe2 config look for them under these roots.
nvidia_roots=()
for d in "$site"/nvidia/*/; do nvidia_roots+=("${d%/}"); done
prefix_path="$torch_prefix"
for d in "${nvidia_roots[@]}"; do prefix_path+=";$d"; done

generator=()
if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi
cmake -S . -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix_path" -DFLOWGRPO_PYTHON="$venv/bin/python" \
  -DCUDAToolkit_ROOT="$cuda_home" -DCMAKE_CUDA_COMPILER="$cuda_home/bin/nvcc" \
  -DTORCH_CUDA_ARCH_LIST="9.0" -DFLOWGRPO_WITH_CUDA=ON -DFLOWGRPO_WITH_DISTRIBUTED=ON \
  -DCUDNN_INCLUDE_DIR="$site/nvidia/cudnn/include" -DCUDNN_LIBRARY_PATH="$(ls "$site"/nvidia/cudnn/lib/libcudnn.so* | head -n 1)"
grep -q 'FLOWGRPO_WITH_CUDA:BOOL=ON' "$build_dir/CMakeCache.txt"
cmake --build "$build_dir" -j "$jobs"

echo "[check_cuda_build] OK: CUDA build compiled and linked in $(( $(date +%s) - start )) s ($build_dir)"
