#!/usr/bin/env bash
# Install everything (first time), then start the app on http://127.0.0.1:${PORT:-5000}
# Scale-out recognition (docs/deployment.md): ASR_WORKERS=N starts N recognition workers beside the web
# process; without REDIS_URL a private redis-server is started for them in instance/redis.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/bootstrap.sh app
workers="${ASR_WORKERS:-0}"
if [ "$workers" -le 0 ]; then
  exec .venv/bin/python run.py
fi
children=()
cleanup() { for pid in "${children[@]}"; do kill "$pid" 2>/dev/null || true; done; wait; }
trap cleanup EXIT INT TERM
if [ -z "${REDIS_URL:-}" ]; then
  port="${REDIS_PORT:-6379}"
  mkdir -p instance/redis
  # jobs are short-lived: no persistence; only this machine may connect
  redis-server --port "$port" --bind 127.0.0.1 --dir "$PWD/instance/redis" --save "" --appendonly no \
    --logfile "$PWD/instance/redis/redis.log" &
  children+=($!)
  export REDIS_URL="redis://127.0.0.1:$port/0"
  for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
fi
export REDIS_URL
cores="$(nproc)"
# a worker decodes with one decoder per core it may use: unpinned workers share the cores between them
share=$(( cores / workers > 0 ? cores / workers : 1 ))
for i in $(seq 0 $((workers - 1))); do
  opts=(--decoders "${ASR_DECODERS:-$share}")
  # ASR_PIN=1: worker i on core i (one decoder each), like one worker per machine
  [ "${ASR_PIN:-0}" = 1 ] && opts=(--cpu $((i % cores)))
  .venv/bin/python -m grading worker --name "$(hostname)-w$i" "${opts[@]}" &
  children+=($!)
done
.venv/bin/python run.py
