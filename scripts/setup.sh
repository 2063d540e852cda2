#!/usr/bin/env bash
# Idempotent setup for a fresh machine: OpenSSH server (used by the SSH tests), Chromium (the UI
# page test's browser), a project venv in .venv with the newest Airflow, and .venv-airflow31 with
# Airflow 3.1 (what airflow-supervisor's users run: it pins apache-airflow<3.2), each with the
# package's Airflow and test extras. SKIP_AIRFLOW31=1 leaves the second venv out.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
{ command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ]; } || missing+=(openssh-server openssh-client)
command -v pgrep >/dev/null 2>&1 || missing+=(procps)  # pgrep and kill, used to stop supervisord
[ -x /usr/bin/chromium ] || missing+=(chromium)  # the headless browser of the UI page test (Debian's)
if [ ${#missing[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    if command -v apt-get >/dev/null 2>&1; then
        { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null; } \
            || echo "setup: could not install ${missing[*]}; tests that need them will be skipped or fail" >&2
    else
        echo "setup: ${missing[*]} missing and apt-get is not available" >&2
    fi
fi

PY="${PYTHON:-python3}"
if ! command -v uv >/dev/null 2>&1; then
    "$PY" -m pip install -q uv
fi
if [ ! -x .venv/bin/python ]; then
    uv venv -q --python "$PY" .venv
fi
# Playwright (test extra) drives the system's chromium; it must never download a browser of its own
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
uv pip install -q --python .venv/bin/python -e ".[airflow,test]"
if [ "${SKIP_AIRFLOW31:-0}" != 1 ]; then
    if [ ! -x .venv-airflow31/bin/python ]; then
        uv venv -q --python "$PY" .venv-airflow31
    fi
    uv pip install -q --python .venv-airflow31/bin/python -e ".[airflow,test]" "apache-airflow==3.1.*"
fi
