#!/usr/bin/env bash
# Sets up a fresh machine, builds Haven and runs every test (CTest).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh -DHAVEN_BUILD_TESTS=ON -DHAVEN_BUILD_BENCH=ON
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure -j "$(nproc)" --timeout 600
