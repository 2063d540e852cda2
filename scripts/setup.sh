#!/usr/bin/env bash
# Idempotent setup for a fresh machine: OpenSSH server (used by the SSH tests),
# a project venv in .venv, and the package with its Airflow and test extras.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v sshd >/dev/null 2>&1 && [ ! -x /usr/sbin/sshd ]; then
    if command -v apt-get >/dev/null 2>&1; then
        SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
        { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
            openssh-server openssh-client procps >/dev/null; } \
            || echo "setup: could not install openssh-server; SSH tests will be skipped" >&2
    else
        echo "setup: openssh-server is missing and apt-get is not available; SSH tests will be skipped" >&2
    fi
fi

PY="${PYTHON:-python3}"
if ! command -v uv >/dev/null 2>&1; then
    "$PY" -m pip install -q uv
fi
if [ ! -x .venv/bin/python ]; then
    uv venv -q --python "$PY" .venv
fi
uv pip install -q --python .venv/bin/python -e ".[airflow,test]"
