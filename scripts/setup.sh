#!/usr/bin/env bash
# Installs what flowgrpo's build, tests and demo need on Debian 12:
#   - Debian packages: compilers, CMake, and every library except LibTorch;
#   - .venv/ (git-ignored): a project-local Python virtual environment with
#     torch==2.13.0 (CPU), whose LibTorch CMake finds by itself, and numpy/Pillow
#     for the tests' small oracles (requirements/base.txt);
#   - with --with-reference: the Python reference stack (diffusers 0.33.1,
#     transformers, peft; requirements/reference.txt) that the `reference` tests use.
# Idempotent: what is present is skipped, so a second run takes seconds.
#
#   ./scripts/setup.sh                    packages + .venv with torch
#   ./scripts/setup.sh --with-reference   ... and the reference stack
#   PYTHON=/usr/bin/python3.12 ./scripts/setup.sh    build the venv from another Python
set -euo pipefail
cd "$(dirname "$0")/.."

with_reference=0
for arg in "$@"; do
  case "$arg" in
    --with-reference) with_reference=1 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "[setup] unknown argument '$arg' (expected --with-reference)" >&2; exit 2 ;;
  esac
done

# --------------------------------------------------------------------------- Debian
packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libgloo-dev             # Gloo's headers for c10d's ProcessGroupGloo (the wheels ship c10d's, not Gloo's)
  libyaml-cpp-dev libspdlog-dev libfmt-dev libcli11-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libsentencepiece-dev
  libpng-dev libjpeg-dev  # image grids (PNG) and the JPEG-size rewards
  libcurl4-openssl-dev    # remote reward servers (rewards/http_client)
  libicu-dev              # text/: Unicode categories, NFC and lower-casing for the CLIP tokenizer
  python3 python3-venv    # .venv/ below
  gnuplot-nox             # accuracy-over-epochs plot in the demo
  time                    # GNU time: scripts/bench_eval.sh measures faults and resident memory
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "[setup] all ${#packages[@]} Debian packages present"
else
  echo "[setup] installing: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# --------------------------------------------------------------------------- .venv
venv=.venv
torch_pin=$(grep -E '^torch==' requirements/base.txt)
torch_version=${torch_pin#torch==}

python=${PYTHON:-}
if [ -z "$python" ]; then
  # The torch 2.13.0 wheel that lies on this project's machines is for CPython 3.11.
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then python=$(command -v "$candidate"); break; fi
  done
fi
if [ -z "$python" ]; then
  echo "[setup] error: no python3 found; flowgrpo needs CPython 3.10-3.13 to hold torch==$torch_version" >&2
  exit 1
fi
py_version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
case "$py_version" in
  3.10|3.11|3.12|3.13) ;;
  *) echo "[setup] error: $python is Python $py_version; torch==$torch_version needs CPython 3.10-3.13" \
          "(set PYTHON=/path/to/python3.11)" >&2
     exit 1 ;;
esac

venv_torch() { "$venv/bin/python" -c 'import torch; print(torch.__version__)' 2>/dev/null || true; }
base_stamp="$venv/.flowgrpo-base.sha256"
base_want=$(sha256sum requirements/base.txt | cut -d' ' -f1)
if [ -x "$venv/bin/python" ] && [[ "$(venv_torch)" == "$torch_version"* ]] && [ -f "$base_stamp" ] &&
   [ "$(cat "$base_stamp")" = "$base_want" ]; then
  echo "[setup] $venv has torch $(venv_torch)"
else
  if [ ! -x "$venv/bin/python" ]; then
    echo "[setup] creating $venv with $python (Python $py_version)"
    "$python" -m venv "$venv"
  fi
  echo "[setup] installing requirements/base.txt ($torch_pin, numpy, pillow) into $venv"
  # An exact pin: an open range would pull a multi-GB CUDA build from the registry.
  if ! "$venv/bin/python" -m pip install -q --disable-pip-version-check --only-binary=:all: \
      -r requirements/base.txt; then
    echo "[setup] error: could not install $torch_pin for Python $py_version. flowgrpo's default build needs" \
         "that wheel (CPU build; on this project's machines it lies on disk for CPython 3.11)." \
         "Alternatively configure CMake with -DCMAKE_PREFIX_PATH=/path/to/libtorch (LibTorch >= 2.4)." >&2
    exit 1
  fi
  echo "$base_want" > "$base_stamp"
fi

if [ "$with_reference" -eq 1 ]; then
  stamp="$venv/.flowgrpo-reference.sha256"
  want=$(cat requirements/base.txt requirements/reference.txt | sha256sum | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "[setup] reference stack present (requirements/reference.txt)"
  else
    echo "[setup] installing the reference stack (requirements/reference.txt) into $venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check \
      -r requirements/reference.txt -c requirements/base.txt
    echo "$want" > "$stamp"
  fi
fi
