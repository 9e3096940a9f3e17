#!/usr/bin/env bash
# Make .venv hold the pinned AWS CLI (and its botocore). Used by scripts/test.sh (the
# conformance suite runs the real CLI against the emulator) and scripts/bench.sh (the CLI is
# the baseline). Run from anywhere; it works in the repository root.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

AWSCLI_VERSION=1.46.3

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
if ! .venv/bin/python -c "import awscli, sys; sys.exit(awscli.__version__ != '${AWSCLI_VERSION}')" 2>/dev/null; then
    .venv/bin/python -m pip install --quiet --disable-pip-version-check "awscli==${AWSCLI_VERSION}"
fi
