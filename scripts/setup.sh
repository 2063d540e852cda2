#!/usr/bin/env bash
# Idempotent setup for a fresh Debian/Ubuntu machine with Python >= 3.11 (PYTHON=... picks another).
#
#   bash scripts/setup.sh          OpenSSH server (the SSH tests), Chromium (the UI page test's browser),
#                                  .venv with the newest Airflow and .venv-airflow31 with Airflow 3.1 (what
#                                  airflow-supervisor's users run: it pins apache-airflow<3.2), each with the
#                                  package's Airflow and test extras. SKIP_AIRFLOW31=1 leaves the second out.
#   bash scripts/setup.sh --core   .venv-core: the library and its test tools without Airflow (a supported
#                                  install, tested on its own by scripts/test.sh).
#   bash scripts/setup.sh --demo   only what the demo needs: .venv with the airflow extra (scripts/demo.sh).
#
# Works where the system Python refuses `pip install` (PEP 668, "externally-managed-environment"): venvs
# are made with the standard library's venv (python3-venv is installed when missing) and uv is installed
# inside the venv when it is not on PATH. apt-get waits for another apt/dpkg to release its lock (at most
# APT_LOCK_TIMEOUT seconds, default 300). Under CI=true a package that cannot be installed stops setup.
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${PYTHON:-python3}"
mode="${1:-all}"
case "$mode" in all | --core | --demo) ;; *) echo "usage: setup.sh [--core | --demo]" >&2; exit 2 ;; esac
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

_apt() {  # apt-get "$@", retried while another apt or dpkg holds the lock, until the deadline
    local deadline=$((SECONDS + ${APT_LOCK_TIMEOUT:-300})) out
    while :; do
        if out=$(DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=30 "$@" 2>&1); then
            return 0
        fi
        if [ $SECONDS -lt $deadline ] && grep -qiE "could not get lock|unable to acquire|unable to lock" <<<"$out"; then
            echo "setup: apt is busy (another apt-get or dpkg holds its lock); waiting" >&2
            sleep 5
            continue
        fi
        printf '%s\n' "$out" >&2
        return 1
    done
}

install_packages() {  # install Debian packages; a failure stops setup under CI=true, else it is reported
    local why="tests that need them will fail under CI=true and be skipped otherwise"
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "setup: $* missing and apt-get is not available; $why" >&2
    elif _apt update -qq && _apt install -y -qq "$@"; then
        return 0
    else
        echo "setup: could not install $*; $why" >&2
    fi
    [ "${CI:-}" != true ] || exit 1
}

make_venv() {  # make_venv DIR: a venv from the standard library, with pip
    [ -x "$1/bin/python" ] && return 0
    if ! "$PY" -m venv "$1" 2>/dev/null; then
        rm -rf "$1"  # Debian/Ubuntu ship venv's pip bootstrap (ensurepip) as pythonX.Y-venv
        install_packages "python$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')-venv"
        "$PY" -m venv "$1"
    fi
}

missing=()
command -v pgrep >/dev/null 2>&1 || missing+=(procps)  # pgrep and kill, used to stop supervisord
if [ "$mode" = all ]; then
    { command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ]; } || missing+=(openssh-server openssh-client)
    command -v ip >/dev/null 2>&1 || missing+=(iproute2)  # network namespaces: the fault tests' remote host
    command -v unshare >/dev/null 2>&1 || missing+=(util-linux)  # the fault tests' triggerer on another host
    [ -x /usr/bin/chromium ] || missing+=(chromium)  # the headless browser of the UI page test (Debian's)
fi
[ ${#missing[@]} -eq 0 ] || install_packages "${missing[@]}"

main_venv=.venv
[ "$mode" = --core ] && main_venv=.venv-core
# uv from PATH, else installed into the venv by the venv's own pip (never the system's)
if command -v uv >/dev/null 2>&1; then
    UV=uv
    [ -x "$main_venv/bin/python" ] || uv venv -q --python "$PY" "$main_venv"
else
    UV="$main_venv/bin/uv"
    make_venv "$main_venv"
    if [ ! -x "$UV" ]; then
        "$main_venv/bin/python" -m pip --version >/dev/null 2>&1 || "$main_venv/bin/python" -m ensurepip -q
        "$main_venv/bin/python" -m pip install -q --disable-pip-version-check uv
    fi
fi
# Playwright (test extra) drives the system's chromium; it must never download a browser of its own
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
case "$mode" in
    --core) "$UV" pip install -q --python "$main_venv/bin/python" -e ".[test]"; exit 0 ;;
    --demo) "$UV" pip install -q --python "$main_venv/bin/python" -e ".[airflow]"; exit 0 ;;
esac
"$UV" pip install -q --python .venv/bin/python -e ".[airflow,test]"
if [ "${SKIP_AIRFLOW31:-0}" != 1 ]; then
    [ -x .venv-airflow31/bin/python ] || "$UV" venv -q --python "$PY" .venv-airflow31
    "$UV" pip install -q --python .venv-airflow31/bin/python -e ".[airflow,test]" "apache-airflow==3.1.*"
fi
