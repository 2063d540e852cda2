#!/usr/bin/env bash
# Set up (idempotent) and run the demo: a supervised job driven by Airflow on a local
# supervisord, with a throwaway SQLite Airflow home in a temp dir.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --demo  # the venv with Airflow only: no test tools, browser or sshd
exec .venv/bin/airflow-supervisor-async demo "$@"
