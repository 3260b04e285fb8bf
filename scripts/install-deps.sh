#!/usr/bin/env bash
# Installs the Debian packages vortexc needs to build and test, skipping
# apt entirely when everything is already present. The CUDA toolkit is
# optional (GPU parts are skipped without it) and is not installed here.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config   # build
  flex bison                                     # scanner and parser generators
  libjansson-dev                                 # JSON: --diagnostics=json, --model-config
  libcmocka-dev                                  # unit tests
  clang libclang-14-dev libclang-rt-14-dev       # libFuzzer harness; libclang checks of generated code
  llvm-14-tools                                  # FileCheck for golden tests
  libxxhash-dev                                  # runtime: content hash of the NVRTC cache
  python3                                        # tests/bench: the benchmark report's target checks
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then
    sudo="sudo"
  else
    echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update
$sudo apt-get install -y --no-install-recommends "${missing[@]}"
