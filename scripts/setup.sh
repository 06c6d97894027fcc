#!/usr/bin/env bash
# Installs every Debian 12 package that flowgrpo's build, tests and demo need.
# Idempotent: packages already present are skipped, so a second run is quick.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libtorch-dev            # LibTorch 1.13 (CPU) with c10d headers
  libopenblas0-pthread    # without it matmuls fall back to the ~30x slower reference BLAS
  libgloo-dev             # c10d's ProcessGroupGloo headers
  libyaml-cpp-dev libspdlog-dev libfmt-dev libcli11-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libsentencepiece-dev
  libpng-dev libjpeg-dev  # image grids (PNG) and the JPEG-size rewards
  libcurl4-openssl-dev    # remote reward servers (rewards/http_client)
  libicu-dev              # text/: Unicode categories, NFC and lower-casing for the CLIP tokenizer
  python3 python3-numpy python3-pil  # fixture helpers in tests (PIL: JPEG sizes as the reference computes them)
  python3-torch           # tests script tiny TorchScript reward models (Debian 1.13, CPU)
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
  echo "[setup] all ${#packages[@]} packages present"
  exit 0
fi

echo "[setup] installing: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
