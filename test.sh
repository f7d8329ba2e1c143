#!/usr/bin/env bash
# Install everything (first time), then run the house checks and the whole test suite: lint (ruff),
# types of the domain packages (mypy), the theory bank's validator (including the cue-strategy gate),
# then unit, integration and browser tests. Arguments go to pytest (the checks run only without them).
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/bootstrap.sh test
if [ "$#" -eq 0 ]; then
  echo "[checks] ruff"; .venv/bin/ruff check .
  echo "[checks] mypy"; .venv/bin/mypy
  echo "[checks] theory bank"; .venv/bin/python -m exams validate
fi
exec .venv/bin/python -m pytest "$@"
