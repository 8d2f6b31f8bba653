#!/usr/bin/env bash
# Installs everything Harrier's build and tests need on a fresh machine of
# this kind. Idempotent: each step checks first, so a second run takes seconds.
# Prints nothing on stdout (./run.sh's stdout carries findings only).
set -euo pipefail

log() { printf '[bootstrap] %s\n' "$*" >&2; }

BPF_LINKER_VERSION=0.10.0

# System packages: only what is missing.
need_apt=()
command -v python3 >/dev/null || need_apt+=(python3)
command -v pip3 >/dev/null || command -v pip >/dev/null || need_apt+=(python3-pip)
command -v node >/dev/null || need_apt+=(nodejs)
command -v npm >/dev/null || need_apt+=(npm)
# Live detection tests: netcat with -e, an SSH client, debugfs.
command -v nc.traditional >/dev/null || need_apt+=(netcat-traditional)
command -v ssh >/dev/null || need_apt+=(openssh-client)
command -v debugfs >/dev/null || need_apt+=(e2fsprogs)
# The CRI client's build compiles the CRI protobufs.
command -v protoc >/dev/null || need_apt+=(protobuf-compiler)
# C detectors: clang for wasm32-wasi, its linker, C library and builtins.
command -v clang >/dev/null || need_apt+=(clang)
command -v wasm-ld >/dev/null || need_apt+=(lld)
[ -f /usr/lib/wasm32-wasi/libc.a ] || need_apt+=(wasi-libc)
dpkg -s libclang-rt-14-dev-wasm32 >/dev/null 2>&1 || need_apt+=(libclang-rt-14-dev-wasm32)
# Real container runtimes for the runtime tests (started by the tests on
# private paths) and a static busybox to make their image from.
command -v containerd >/dev/null || need_apt+=(containerd)
command -v runc >/dev/null || need_apt+=(runc)
[ -x /usr/sbin/dockerd ] || need_apt+=(docker.io)
dpkg -s busybox-static >/dev/null 2>&1 || need_apt+=(busybox-static)
# Fleet tests: a private JetStream server (Debian's 2.9).
[ -x /usr/sbin/nats-server ] || command -v nats-server >/dev/null || need_apt+=(nats-server)
if ((${#need_apt[@]})); then
  log "apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq "${need_apt[@]}" >&2
fi

# Rust: the nightly toolchain with rust-src builds the eBPF programs; the
# Wasm targets build detectors.
have_component() { rustup "+$1" component list --installed 2>/dev/null | grep -q "^$2"; }
if ! rustup toolchain list | grep -q '^nightly'; then
  log "rustup toolchain install nightly"
  rustup toolchain install nightly --profile minimal
fi
have_component nightly rust-src || { log "rustup component add rust-src (nightly)"; rustup +nightly component add rust-src; }
for c in rustfmt clippy; do
  have_component stable "$c" || { log "rustup component add $c"; rustup component add "$c"; }
done
for t in wasm32-unknown-unknown wasm32-wasip2; do
  rustup target list --installed | grep -qx "$t" || { log "rustup target add $t"; rustup target add "$t"; }
done

# bpf-linker links the eBPF object (uses nightly's own LLVM, no system LLVM).
if ! bpf-linker --version 2>/dev/null | grep -q "$BPF_LINKER_VERSION"; then
  log "cargo install bpf-linker@$BPF_LINKER_VERSION"
  cargo install --locked "bpf-linker@$BPF_LINKER_VERSION"
fi

# cargo-fuzz runs the fuzz targets of fuzz/ (scripts/fuzz.sh), on nightly.
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  log "cargo install cargo-fuzz"
  cargo +nightly install --locked cargo-fuzz
fi

# tracefs: the sensor attaches to tracepoints (harrier also mounts it itself).
if [ "$(id -u)" = 0 ] && [ ! -e /sys/kernel/tracing/events ]; then
  mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || log "could not mount tracefs (harrier will try again)"
fi
log "toolchain ready"
