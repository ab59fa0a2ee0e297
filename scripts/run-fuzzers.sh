#!/usr/bin/env bash
# Runs every libFuzzer target in BUILD_DIR for SECONDS each, starting from
# its seed corpus in fuzz/corpus/<target>/. New inputs go to a scratch
# corpus, not into the repository. A crash fails the run; the crashing
# input is kept in the scratch dir and printed so it can become a
# regression test.
set -euo pipefail
build=${1:?build dir}
seconds=${2:-60}
scratch=$(mktemp -d /tmp/nvmeof-fuzz.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
status=0
for bin in "$build"/*_fuzz; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin")
  seeds=fuzz/corpus/$name
  mkdir -p "$scratch/$name" "$scratch/$name-artifacts"
  echo "fuzz: $name for ${seconds}s"
  if ! "$bin" -max_total_time="$seconds" -print_final_stats=0 \
       -artifact_prefix="$scratch/$name-artifacts/" \
       "$scratch/$name" $( [ -d "$seeds" ] && echo "$seeds" ) >"$scratch/$name.log" 2>&1; then
    echo "fuzz: $name FAILED"; tail -50 "$scratch/$name.log"
    for a in "$scratch/$name-artifacts"/*; do
      [ -f "$a" ] && { echo "crashing input $a:"; xxd "$a" | head -20; }
    done
    status=1
  else
    grep -E '^(#[0-9]+|Done)' "$scratch/$name.log" | tail -1 || true
  fi
done
exit $status
