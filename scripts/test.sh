#!/usr/bin/env bash
# Set up (idempotent) and run the whole test suite: lint, then pytest against real
# supervisord, a real OpenSSH sshd on 127.0.0.1 and real Airflow.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/pytest -q -p no:cacheprovider "$@"
