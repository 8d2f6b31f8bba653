#!/usr/bin/env bash
# Set up this machine (idempotent), build everything and run the whole test
# suite: unit tests, sandbox and replay tests, live eBPF tests (as root),
# hot reload, packs, findings, guests in Python and JavaScript.
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh
if [ -x scripts/build-guests.sh ]; then
  scripts/build-guests.sh --test
fi
cargo build --release --workspace --all-targets
cargo test --release --workspace --no-fail-fast "$@"
