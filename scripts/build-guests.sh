#!/usr/bin/env bash
# Build the scripted-language detectors into WebAssembly components:
#   plugins/python/<name>/app.py      -> target/guests/<name>-py.wasm  (componentize-py)
#   plugins/js/<name>/detector.js     -> target/guests/<name>-js.wasm  (componentize-js)
# Installs the tools idempotently (a venv under target/guest-tools, npm ci per
# JS detector from its package-lock.json) and skips components whose inputs
# are older than the output.
#
# Usage: scripts/build-guests.sh [--test]
#   --test   also run each detector's native unit tests (Python unittest,
#            node --test) against the shared fixtures in plugins/fixtures/.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT="$ROOT/target/guests"
TOOLS="$ROOT/target/guest-tools"
BINDINGS="$ROOT/target/guest-build/python-bindings"
COMPONENTIZE_PY_VERSION=0.25.1
RUN_TESTS=0
case "${1:-}" in
  --test) RUN_TESTS=1 ;;
  "") ;;
  *) echo "usage: $0 [--test]" >&2; exit 2 ;;
esac

log() { echo "build-guests: $*" >&2; }

# True when $1 is missing or any file under the other arguments is newer.
stale() {
  local out=$1; shift
  [[ ! -f "$out" ]] && return 0
  [[ -n "$(find "$@" -path '*/node_modules' -prune -o -path '*/__pycache__' -prune -o -type f -newer "$out" -print -quit)" ]]
}

mkdir -p "$OUT"

# --- Python -----------------------------------------------------------------
python_tools() {
  local cpy="$TOOLS/venv/bin/componentize-py"
  if [[ -x "$cpy" ]] && "$cpy" --version 2>/dev/null | grep -qF "$COMPONENTIZE_PY_VERSION"; then
    return
  fi
  command -v python3 >/dev/null || { log "python3 is required for the Python detectors"; exit 1; }
  log "installing componentize-py $COMPONENTIZE_PY_VERSION into $TOOLS/venv"
  python3 -m venv "$TOOLS/venv"
  "$TOOLS/venv/bin/pip" install --quiet --disable-pip-version-check "componentize-py==$COMPONENTIZE_PY_VERSION"
}

python_bindings() {
  # Bindings for native tests; the componentize step generates its own.
  if stale "$BINDINGS/wit_world/__init__.py" "$ROOT/wit"; then
    rm -rf "$BINDINGS"
    "$TOOLS/venv/bin/componentize-py" -d "$ROOT/wit" -w detector bindings "$BINDINGS" >/dev/null
  fi
}

for dir in "$ROOT"/plugins/python/*/; do
  [[ -f "$dir/app.py" ]] || continue
  name=$(basename "$dir")
  out="$OUT/$name-py.wasm"
  python_tools
  if [[ $RUN_TESTS == 1 ]]; then
    python_bindings
    log "testing Python detector $name"
    (cd "$dir" && PYTHONPATH="$BINDINGS" "$TOOLS/venv/bin/python" -m unittest -v 2>&1)
  fi
  if stale "$out" "$dir" "$ROOT/wit"; then
    log "building $out"
    (cd "$ROOT" && "$TOOLS/venv/bin/componentize-py" -d wit -w detector componentize -p "$dir" app -o "$out.tmp" >/dev/null)
    mv "$out.tmp" "$out"
  else
    log "$out is up to date"
  fi
done

# --- JavaScript ---------------------------------------------------------------
for dir in "$ROOT"/plugins/js/*/; do
  [[ -f "$dir/detector.js" ]] || continue
  name=$(basename "$dir")
  out="$OUT/$name-js.wasm"
  command -v npm >/dev/null || { log "node and npm are required for the JavaScript detectors"; exit 1; }
  if [[ ! -f "$dir/node_modules/.package-lock.json" || "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]]; then
    log "installing npm packages for $name"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
  if [[ $RUN_TESTS == 1 ]]; then
    log "testing JavaScript detector $name"
    (cd "$dir" && npm test --silent)
  fi
  if stale "$out" "$dir" "$ROOT/wit"; then
    log "building $out"
    (cd "$dir" && node build.mjs "$out.tmp")
    mv "$out.tmp" "$out"
  else
    log "$out is up to date"
  fi
done
