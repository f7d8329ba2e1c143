#!/usr/bin/env bash
# Install everything (first time), then start the app on http://127.0.0.1:${PORT:-5000}
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/bootstrap.sh app
exec .venv/bin/python run.py
