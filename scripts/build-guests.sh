#!/usr/bin/env bash
# Build the detectors in other languages into WebAssembly components:
#   plugins/python/<name>/app.py      -> target/guests/<name>-py.wasm  (componentize-py)
#   plugins/js/<name>/detector.js     -> target/guests/<name>-js.wasm  (componentize-js)
#   plugins/c/<name>/detector.c       -> target/guests/<name>-c.wasm   (wit-bindgen c, clang)
# Installs the tools idempotently (a venv under target/guest-tools, npm ci per
# JS detector from its package-lock.json, wit-bindgen and wasm-tools with
# cargo install under target/guest-tools/cargo) and skips components whose
# inputs are older than the output.
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

# The Python SDK (sdk/python/harrier_sdk) goes into every Python component.
SDK_PY="$ROOT/sdk/python"
if [[ $RUN_TESTS == 1 && -d "$SDK_PY/tests" ]]; then
  python_tools
  python_bindings
  log "testing the Python SDK"
  (cd "$SDK_PY" && PYTHONPATH="$BINDINGS:$SDK_PY" "$TOOLS/venv/bin/python" -m unittest discover -v -s tests -t . 2>&1)
fi

for dir in "$ROOT"/plugins/python/*/; do
  [[ -f "$dir/app.py" ]] || continue
  name=$(basename "$dir")
  out="$OUT/$name-py.wasm"
  python_tools
  if [[ $RUN_TESTS == 1 ]]; then
    python_bindings
    log "testing Python detector $name"
    (cd "$dir" && PYTHONPATH="$BINDINGS:$SDK_PY" "$TOOLS/venv/bin/python" -m unittest -v 2>&1)
  fi
  if stale "$out" "$dir" "$ROOT/wit" "$SDK_PY"; then
    log "building $out"
    (cd "$ROOT" && "$TOOLS/venv/bin/componentize-py" -d wit -w detector componentize -p "$dir" -p sdk/python app -o "$out.tmp" >/dev/null)
    mv "$out.tmp" "$out"
  else
    log "$out is up to date"
  fi
done

# --- JavaScript ---------------------------------------------------------------
# The JavaScript SDK (sdk/js/harrier-sdk) has no npm dependencies of its own;
# every JS detector bundles it, so a change to it rebuilds them all.
if [[ $RUN_TESTS == 1 ]] && compgen -G "$ROOT/plugins/js/*/detector.js" >/dev/null; then
  command -v node >/dev/null || { log "node is required for the JavaScript SDK"; exit 1; }
  log "testing the JavaScript SDK"
  (cd "$ROOT/sdk/js/harrier-sdk" && node --import ./register.js --test test/*.test.mjs)
fi
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
  if stale "$out" "$dir" "$ROOT/wit" "$ROOT/sdk/js" "$ROOT/plugins/fixtures"; then
    log "building $out"
    (cd "$dir" && node build.mjs "$out.tmp")
    mv "$out.tmp" "$out"
  else
    log "$out is up to date"
  fi
done

# --- C ------------------------------------------------------------------------
# clang, lld and wasi-libc come from scripts/bootstrap.sh (Debian packages);
# wit-bindgen's C generator and wasm-tools are installed here, pinned.
WIT_BINDGEN_VERSION=0.61.1
WASM_TOOLS_VERSION=1.258.3
CARGO_TOOLS="$TOOLS/cargo"

cargo_tool() {
  local bin=$1 crate=$2 version=$3 features=$4
  if [[ -x "$CARGO_TOOLS/bin/$bin" ]] && "$CARGO_TOOLS/bin/$bin" --version 2>/dev/null | grep -qF "$version"; then
    return
  fi
  log "installing $crate $version into $CARGO_TOOLS"
  cargo install --quiet --locked --root "$CARGO_TOOLS" "$crate@$version" --no-default-features --features "$features" >&2
}

c_tools() {
  command -v clang >/dev/null || { log "clang is required for the C detectors (scripts/bootstrap.sh installs it)"; exit 1; }
  cargo_tool wit-bindgen wit-bindgen-cli "$WIT_BINDGEN_VERSION" c
  cargo_tool wasm-tools wasm-tools "$WASM_TOOLS_VERSION" component
}

# The detector-authoring docs (tests/detector_docs.rs) use both tools too.
c_tools
C_BINDINGS="$ROOT/target/guest-build/c-bindings"
for dir in "$ROOT"/plugins/c/*/; do
  [[ -f "$dir/detector.c" ]] || continue
  name=$(basename "$dir")
  out="$OUT/$name-c.wasm"
  if stale "$C_BINDINGS/detector.c" "$ROOT/wit"; then
    rm -rf "$C_BINDINGS"
    "$CARGO_TOOLS/bin/wit-bindgen" c "$ROOT/wit" --world detector --out-dir "$C_BINDINGS" >/dev/null
  fi
  if stale "$out" "$dir" "$ROOT/sdk/c" "$ROOT/wit"; then
    log "building $out"
    mkdir -p "$ROOT/target/guest-build/c"
    core="$ROOT/target/guest-build/c/$name.core.wasm"
    # A reactor (no main) using only memory and string functions of the C
    # library: the component imports nothing from WASI.
    clang --target=wasm32-wasi -mexec-model=reactor -O2 -Wall -Wextra -Werror -Wno-unused-parameter \
      -I"$C_BINDINGS" -I"$ROOT/sdk/c" -o "$core" \
      "$dir/detector.c" "$ROOT/sdk/c/harrier.c" "$C_BINDINGS/detector.c" "$C_BINDINGS/detector_component_type.o"
    "$CARGO_TOOLS/bin/wasm-tools" component new "$core" -o "$out.tmp"
    mv "$out.tmp" "$out"
  else
    log "$out is up to date"
  fi
done
