#!/usr/bin/env bash
# Everything `cargo test` needs, on a fresh clone: a Python venv with the pinned AWS CLI
# (the conformance suite runs the real CLI and botocore against the emulator), then the tests.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

AWSCLI_VERSION=1.46.3

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
if ! .venv/bin/python -c "import awscli, sys; sys.exit(awscli.__version__ != '${AWSCLI_VERSION}')" 2>/dev/null; then
    .venv/bin/python -m pip install --quiet --disable-pip-version-check "awscli==${AWSCLI_VERSION}"
fi

cargo test --locked
