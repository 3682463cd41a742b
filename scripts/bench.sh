#!/usr/bin/env bash
# Builds haven_bench and runs every scenario of issue 12 at the issue's sizes,
# then writes bench/results.json: {"commit", "date", "runs": [one object per
# run, as each scenario prints it]}. --quick runs them at small sizes (about
# a minute) and writes to build/bench-quick.json instead. Each run is niced.
# Usage: [BUILD_DIR=…] scripts/bench.sh [--quick] [SCENARIO…]   (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
quick=false
if [[ ${1:-} == --quick ]]; then quick=true; shift; fi
only=("$@")

if $quick; then
  out=$build_dir/bench-quick.json
  runs=("local-write 2000 100 500" "apply 5000" "push 4 1000" "initial-sync 2000"
        "initial-sync 10000" "fan-out 200 3" "tally 4 2000" "bytes 2000")
else
  out=bench/results.json
  # Sizes of issue 12 (field records have about 6.2 cells each): 100,000 records
  # written; about 1,000,000 cells applied and
  # pulled (and 100,000, to show memory flat in the cells pulled); 10 devices x
  # 10,000 records pushed; 1,000 then 10,000 connected devices; the tally over
  # the largest record count this machine fills in reasonable time; 10,000 records' bytes.
  runs=("local-write 100000 1000 5000" "apply 160000" "push 10 10000" "initial-sync 16000"
        "initial-sync 160000" "fan-out 1000 20" "fan-out 10000 20" "tally ${TALLY_SIZES:-10 100000}"
        "bytes 10000")
fi

TARGETS="haven_bench havend" scripts/build.sh -DHAVEN_BUILD_TESTS=ON -DHAVEN_BUILD_BENCH=ON

# Each run's object is kept as it comes (in $out.runs), so that a run that
# fails, or one stopped by hand, loses only itself.
runs_file=$out.runs
: >"$runs_file"
failed=0
for run in "${runs[@]}"; do
  read -r scenario _ <<<"$run"
  if ((${#only[@]})) && [[ " ${only[*]} " != *" $scenario "* ]]; then continue; fi
  echo "haven_bench $run" >&2
  # shellcheck disable=SC2086  # the sizes are words
  if line=$(nice -n 10 "$build_dir/bench/haven_bench/haven_bench" $run | tail -n 1); then
    jq -c --arg command "build/bench/haven_bench/haven_bench $run" '{command: $command} + .' \
      <<<"$line" >>"$runs_file"
  else
    echo "haven_bench $run failed" >&2
    failed=1
  fi
done

jq -s --arg commit "$(git rev-parse --short HEAD)" \
  --arg date "$(date -u +%Y-%m-%dT%H:%MZ)" '{commit: $commit, date: $date, runs: .}' \
  "$runs_file" >"$out"
rm "$runs_file"
echo "wrote $out" >&2
exit $failed
