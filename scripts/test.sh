#!/usr/bin/env bash
# Every test, on a fresh clone: a Python venv with the pinned AWS CLI (the conformance suite
# runs the real CLI and botocore against the emulator), the format and lint checks, all of
# `cargo test`, and cargo-deny's offline checks. In CI (CI=true) or with --fuzz, the fuzz
# targets also run briefly.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

CARGO_DENY_VERSION=0.20.2
CARGO_FUZZ_VERSION=0.13.2
FUZZ_SECONDS=${FUZZ_SECONDS:-30}

fuzz=false
if [ "${CI:-}" = "true" ] || [ "${1:-}" = "--fuzz" ]; then
    fuzz=true
fi

step() { printf '\n==> %s\n' "$*"; }

step "Python venv with the pinned AWS CLI"
bash scripts/venv.sh

step "cargo fmt --check"
cargo fmt --check

step "cargo clippy -D warnings"
cargo clippy --locked --all-targets -- -D warnings

step "cargo test"
cargo test --locked

step "cargo deny check licenses bans sources"
if ! cargo deny --version 2>/dev/null | grep -q "${CARGO_DENY_VERSION}"; then
    cargo install --locked --quiet cargo-deny --version "${CARGO_DENY_VERSION}"
fi
cargo deny --locked check licenses bans sources

if $fuzz; then
    # cargo-fuzz needs nightly flags; RUSTC_BOOTSTRAP lets the stable toolchain accept them.
    step "fuzz: ${FUZZ_SECONDS}s per target"
    if ! cargo fuzz --version 2>/dev/null | grep -q "${CARGO_FUZZ_VERSION}"; then
        cargo install --locked --quiet cargo-fuzz --version "${CARGO_FUZZ_VERSION}"
    fi
    for target in $(RUSTC_BOOTSTRAP=1 cargo fuzz list); do
        RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" -- -max_total_time="${FUZZ_SECONDS}" -rss_limit_mb=2048
    done
fi
step "all checks passed"
