#!/usr/bin/env bash
# Prepare a machine to run (scripts/setup.sh) or test (scripts/setup.sh dev) MediaSearch.
# Idempotent and quick when nothing changed: re-installs only when a requirements file changed.
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${1:-run}"
venv="${VENV:-.venv}"
python="${PYTHON:-$(command -v python3.11 || command -v python3)}"

if [ ! -x "$venv/bin/python" ]; then
  echo "Creating virtualenv in $venv with $("$python" --version)"
  "$python" -m venv "$venv"
fi

req=requirements.txt
[ "$mode" = dev ] && req=requirements-dev.txt
stamp="$venv/.installed-$(cat requirements.txt requirements-nodeps.txt "$req" | sha256sum | cut -c1-16)-$mode"
if [ ! -f "$stamp" ]; then
  # The first install takes a few minutes (torch, transformers and PostgreSQL come to about 1.5 GB): say so, and
  # let pip show each package as it goes rather than a silent wait.
  echo "Installing the Python packages from $req (the first time takes 3-5 minutes; later runs skip this)"
  pip_install() {  # pip's own failure fails the script (pipefail); only the "already satisfied" noise is dropped
    "$venv/bin/python" -m pip install --disable-pip-version-check --progress-bar on "$@" \
      | { grep -v '^Requirement already satisfied' || true; }
  }
  pip_install --quiet --upgrade pip
  # torch is pinned to the CPU build; install it on its own first so nothing drags in a CUDA build.
  echo "[1/3] torch (CPU build)"
  pip_install "$(grep -E '^torch==' requirements.txt)"
  echo "[2/3] everything else"
  pip_install -r "$req"
  echo "[3/3] the OCR reader, without the GUI OpenCV it asks for (requirements-nodeps.txt)"
  pip_install --no-deps -r requirements-nodeps.txt
  touch "$stamp"
  echo "Packages installed."
fi

if [ "$mode" = dev ]; then
  # Debian programs the tests use, none run as a service: chromium (browser tests, driven through Playwright with no
  # browser download) and redis-server (the Redis task-queue tests start their own); nginx below. Missing ones are installed
  # when we can (root with apt-get: CI, a fresh machine); otherwise their tests are skipped, with a reason.
  missing=""
  [ -z "${CHROMIUM_PATH:-}" ] && ! command -v chromium >/dev/null 2>&1 && missing="$missing chromium"
  command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
  if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "Installing$missing for the tests"
      apt-get update -qq >/dev/null
      # shellcheck disable=SC2086
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
    else
      echo "Not installed:$missing; their tests will be skipped (sudo apt-get install$missing)" >&2
    fi
  fi
  # nginx and openssl: the README's nginx block is run in front of the app (tests/test_nginx_readme.py, which starts
  # its own nginx on loopback). Not needed by anything else, so a failed install only skips that test.
  optional=""
  [ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || optional="$optional nginx"
  command -v openssl >/dev/null 2>&1 || optional="$optional openssl"
  if [ -n "$optional" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing$optional for the nginx test"
    # shellcheck disable=SC2086
    { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $optional >/dev/null; } \
      || echo "Could not install$optional; the nginx test will be skipped" >&2
  fi
fi
