#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine (scripts/setup.sh --with-reference), configures, builds
# and runs the test suite.
#   ./scripts/test.sh              the whole suite
#   FLOWGRPO_TEST_LABELS=quick ./scripts/test.sh    skip tests labelled `slow`
#   BUILD_DIR=build-debug CMAKE_BUILD_TYPE=Debug ./scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh --with-reference  # Debian packages, .venv with torch 2.13 and the Python reference stack

build_dir=${BUILD_DIR:-build}
build_type=${CMAKE_BUILD_TYPE:-Release}
jobs=${JOBS:-$(nproc)}
generator=()
if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi

# Reuse an existing build directory only if it was made with the same generator.
if [ -f "$build_dir/CMakeCache.txt" ] && [ ${#generator[@]} -gt 0 ] && ! grep -q "CMAKE_GENERATOR:INTERNAL=Ninja" "$build_dir/CMakeCache.txt"; then
  rm -rf "$build_dir"
fi

cmake -S . -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE="$build_type"
cmake --build "$build_dir" -j "$jobs"

ctest_args=(--test-dir "$build_dir" --output-on-failure -j "$jobs")
if [ "${FLOWGRPO_TEST_LABELS:-all}" = "quick" ]; then ctest_args+=(-LE slow); fi
# ctest runs as many tests at once as there are cores, each with LibTorch's OpenMP
# pool: idle workers that spin would take cores from the other tests.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
ctest "${ctest_args[@]}"
