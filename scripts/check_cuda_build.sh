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

# The CUDA libraries (cuBLAS, NVRTC, ...) come as the wheel's nvidia-* packages, not
# with the toolkit: LibTorch's Caffe2 config (legacy FindCUDA) finds the toolkit from
# CUDA_TOOLKIT_ROOT_DIR and needs NVRTC named; NCCL's header is found by
# cmake/FlowgrpoTorchFeatures.cmake in site-packages/nvidia/nccl.
nvrtc=$(ls "$site"/nvidia/cu13/lib/libnvrtc.so.* "$site"/nvidia/cuda_nvrtc/lib/libnvrtc.so.* 2>/dev/null | grep -v builtins | head -n 1 || true)
if [ -z "$nvrtc" ]; then
  echo "[check_cuda_build] error: libnvrtc not found under $site/nvidia (the torch CUDA wheel's nvidia packages)" >&2
  exit 1
fi

generator=()
if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi
cmake -S . -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$torch_prefix" -DFLOWGRPO_PYTHON="$PWD/$venv/bin/python" \
  -DCUDA_TOOLKIT_ROOT_DIR="$cuda_home" -DCUDAToolkit_ROOT="$cuda_home" -DCUDA_nvrtc_LIBRARY="$nvrtc" \
  -DTORCH_CUDA_ARCH_LIST="9.0" -DFLOWGRPO_WITH_CUDA=ON -DFLOWGRPO_WITH_DISTRIBUTED=ON
grep -q 'FLOWGRPO_WITH_CUDA:BOOL=ON' "$build_dir/CMakeCache.txt"
grep -q 'FLOWGRPO_NCCL_INCLUDE_DIR:PATH=/' "$build_dir/CMakeCache.txt" ||
  { echo "[check_cuda_build] error: nccl.h not found: the NCCL paths would not be compiled" >&2; exit 1; }
cmake --build "$build_dir" -j "$jobs"

echo "[check_cuda_build] OK: CUDA build compiled and linked in $(( $(date +%s) - start )) s ($build_dir)"
