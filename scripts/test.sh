#!/usr/bin/env bash
# Everything `cargo test` needs, on a fresh clone: a Python venv with the pinned AWS CLI
# (the conformance suite runs the real CLI and botocore against the emulator), then the tests.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/venv.sh
cargo test --locked
