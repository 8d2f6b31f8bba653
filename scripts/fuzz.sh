#!/usr/bin/env bash
# Runs every fuzz target of fuzz/ for a bounded time: first over its
# regression inputs (fuzz/regressions/<target>/, each a past crash, which
# must pass), then fuzzing from its committed seeds (fuzz/seeds/<target>/)
# for SECONDS (default 12) into a scratch corpus. A crash fails the run and
# its input is left in fuzz/artifacts/<target>/: copy it to
# fuzz/regressions/<target>/ and add a unit test next to the code it broke.
#
#   scripts/fuzz.sh            # CI: ~12 s per target
#   scripts/fuzz.sh 3600       # release: an hour per target
#   FUZZ_TARGETS="capture pack_manifest" scripts/fuzz.sh 60
#
# Adding a target: a file fuzz/fuzz_targets/<name>.rs, a [[bin]] named
# <name> in fuzz/Cargo.toml, and at least one seed in fuzz/seeds/<name>/.
set -euo pipefail

seconds=${1:-12}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/fuzz"
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1}

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "fuzz.sh: cargo-fuzz is missing; scripts/bootstrap.sh installs it" >&2
  exit 1
fi
targets=${FUZZ_TARGETS:-$(cargo +nightly fuzz list)}
# No sanitizer: the code is safe Rust; coverage-guided fuzzing finds panics,
# hangs and unbounded memory (-rss_limit_mb) faster without ASan.
build=(cargo +nightly fuzz build --sanitizer none)
"${build[@]}" >&2

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for target in $targets; do
  seeds="seeds/$target"
  [ -d "$seeds" ] || { echo "fuzz.sh: $target has no seeds in fuzz/$seeds" >&2; exit 1; }
  if compgen -G "regressions/$target/*" >/dev/null; then
    echo "fuzz: $target: regression inputs" >&2
    cargo +nightly fuzz run --sanitizer none "$target" regressions/"$target"/* -- \
      -rss_limit_mb=1024 -timeout=10 >&2
  fi
  mkdir -p "$scratch/$target"
  echo "fuzz: $target for ${seconds}s" >&2
  cargo +nightly fuzz run --sanitizer none "$target" "$scratch/$target" "$seeds" -- \
    -max_total_time="$seconds" -rss_limit_mb=1024 -timeout=10 -max_len=65536 \
    -print_final_stats=1 2>"$scratch/$target.log" || {
      tail -n 40 "$scratch/$target.log" >&2
      echo "fuzz: $target FAILED; the input is in fuzz/artifacts/$target/" >&2
      exit 1
    }
  grep -E '^stat::number_of_executed_units' "$scratch/$target.log" | sed "s/^/fuzz: $target: /" >&2 || true
done
echo "fuzz: $(wc -w <<<"$targets") targets passed, ${seconds}s each"
