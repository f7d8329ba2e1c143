#!/usr/bin/env bash
# Install everything (first time), then run the whole test suite: unit, integration and browser tests.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/bootstrap.sh test
exec .venv/bin/python -m pytest "$@"
