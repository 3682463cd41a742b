#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang, AddressSanitizer and UBSan
# into build-fuzz, and runs each for FUZZ_SECONDS (default 60) on a fresh copy
# of the seed corpus, as many at once as the machine has cores. Exits non-zero if any target finds a crash, a leak, a
# hang (-timeout) or an allocation over the limits, printing the input's path;
# replay one with: build-fuzz/fuzz/TARGET PATH
# Usage: scripts/fuzz.sh [TARGET...]   (default: every target)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
build_dir=${BUILD_DIR:-build-fuzz}
seconds=${FUZZ_SECONDS:-60}
targets=("$@")
((${#targets[@]})) || targets=(fuzz_frame_decoder fuzz_handshake fuzz_push_validator fuzz_pull_apply)

CC=clang-14 CXX=clang++-14 BUILD_DIR=$build_dir BUILD_TYPE=RelWithDebInfo TARGETS=haven_fuzzers \
  scripts/build.sh -DHAVEN_FUZZ=ON -DHAVEN_SANITIZE=ON -DHAVEN_BUILD_TESTS=OFF

out="$PWD/$build_dir/fuzz-run"
rm -rf "$out"
# run_target TARGET: fuzzes one target; its result goes to $out/TARGET/result
# (a line to print, then "ok" or "failed") so that targets can run side by side.
run_target() {
  local target=$1 corpus="$out/$1/corpus" log="$out/$1/log" report="$out/$1/result"
  mkdir -p "$corpus" "$out/$target/crashes"
  cp -r "$build_dir/fuzz/corpus/$target/." "$corpus/"
  if ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "$build_dir/fuzz/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -malloc_limit_mb=64 -max_len=8192 -print_final_stats=1 \
    -artifact_prefix="$out/$target/crashes/" "$corpus" >"$log" 2>&1; then
    local runs
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "fuzz: $target: no crash in ${seconds} s (${runs:-?} inputs; corpus $(ls "$corpus" | wc -l) files)" >"$report"
  else
    {
      echo "fuzz: $target FAILED; the end of its log ($log):"
      tail -n 60 "$log"
      for input in "$out/$target/crashes/"*; do
        [[ -e $input ]] && echo "fuzz: $target: crashing input: $input (replay: $build_dir/fuzz/$target $input)"
      done
      echo failed
    } >"$report"
  fi
}

jobs_at_once=$(nproc)
for target in "${targets[@]}"; do
  while (($(jobs -rp | wc -l) >= jobs_at_once)); do wait -n || true; done
  run_target "$target" &
done
wait

status=0
for target in "${targets[@]}"; do
  if [[ ! -f $out/$target/result ]]; then
    status=1
    echo "fuzz: $target did not run to its end (see $out/$target/log)" >&2
  elif [[ $(tail -n 1 "$out/$target/result") == failed ]]; then
    status=1
    sed '$d' "$out/$target/result" >&2
  else
    cat "$out/$target/result"
  fi
done
exit "$status"
