#!/usr/bin/env bash
# Set up this machine (idempotent), build Harrier, and run the live agent
# with the default detectors, printing findings as JSON lines on stdout.
# Extra arguments go to `harrier run` (e.g. --plugins DIR, --config FILE).
set -euo pipefail
cd "$(dirname "$0")"
# stdout carries findings only: set-up and build output go to stderr.
scripts/bootstrap.sh >&2
cargo build --release -p harrier >&2
exec target/release/harrier run "$@"
