#!/usr/bin/env bash
# Configures and builds Haven into BUILD_DIR (default: build); TARGETS (default:
# everything) limits what is built.
# Usage: [BUILD_DIR=…] [BUILD_TYPE=…] [TARGETS="haven havend"] scripts/build.sh [cmake -D options…]
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
# Ninja when it is there (scripts/setup.sh installs it) for a build directory
# made now; one configured earlier keeps its generator.
generator=()
[[ -f $build_dir/CMakeCache.txt ]] || ! command -v ninja >/dev/null || generator=(-G Ninja)
cmake -S . -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} "$@" >/dev/null
targets=()
for t in ${TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$build_dir" -j "$(nproc)" "${targets[@]}"
