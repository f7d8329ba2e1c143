#!/usr/bin/env bash
# Installs everything the product needs, idempotently; the second run only checks.
#   scripts/bootstrap.sh app   - Debian packages for speech, .venv with pinned packages, speech models
#   scripts/bootstrap.sh test  - the same plus what the tests need: Debian chromium (browser tests) and
#                                postgresql (the database tests also run on a throw-away PostgreSQL server)
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-app}"

say() { printf '[setup] %s\n' "$*"; }
# pip repeats a warning for every package when a configured local index folder is absent: drop that noise.
pip_install() { .venv/bin/python -m pip install -q --disable-pip-version-check "$@" 2> >(grep -v "is ignored: it is neither" >&2); }

# ---- Debian packages -------------------------------------------------------------------------
# fonts-wqy-microhei: Chinese text in the PDF score reports and certificates (and in browser screenshots)
apt_pkgs=(espeak-ng libespeak-ng1 ffmpeg sox fonts-wqy-microhei)
if [ "$mode" = test ]; then
  # postgresql, redis-server: the tests start their own throw-away servers (tests/pgcluster.py,
  # tests/redisserver.py); no system service is used.
  apt_pkgs+=(chromium postgresql redis-server)
elif [ "${ASR_WORKERS:-0}" -gt 0 ] && [ -z "${REDIS_URL:-}" ]; then
  # scale-out recognition on this machine: run.sh starts a private redis-server (docs/deployment.md)
  apt_pkgs+=(redis-server)
fi
missing=()
for pkg in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    say "please install these system packages with your package manager: ${missing[*]}"
    exit 1
  fi
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  say "installing system packages: ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ---- Python virtual environment ----------------------------------------------------------------
python_bin="${PYTHON:-python3}"
if ! "$python_bin" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)'; then
  say "Python 3.10 or newer is required (found $("$python_bin" --version 2>&1))"
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  "$python_bin" -m venv .venv
fi
# The app needs requirements.txt; the tests and house checks also requirements-dev.txt (which includes it).
req_file=requirements.txt
[ "$mode" = test ] && req_file=requirements-dev.txt
want="$(cat requirements.txt "$req_file" | sha256sum | cut -d' ' -f1)"
have="$(cat ".venv/.${req_file%.txt}.sha256" 2>/dev/null || true)"
if [ "$want" != "$have" ]; then
  say "installing Python packages from $req_file"
  pip_install --upgrade pip
  pip_install -r "$req_file"
  echo "$want" > ".venv/.${req_file%.txt}.sha256"
fi

# ---- speech models: environment variable, models/<name>/, ../shared/models/<name>/, download --------
.venv/bin/python -m grading models ensure
