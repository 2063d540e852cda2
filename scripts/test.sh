#!/usr/bin/env bash
# Set up (idempotent) and run the whole test suite: lint, then pytest against real
# supervisord, a real OpenSSH sshd on 127.0.0.1 and real Airflow (the newest release, in .venv);
# then the Airflow-level tests marked `airflow31` again on Airflow 3.1 (in .venv-airflow31).
# With arguments (e.g. `-m "not slow"` or a test path) only the first run happens, with them;
# SKIP_AIRFLOW31=1 skips the second.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
status=0
.venv/bin/pytest -q -p no:cacheprovider "$@" || status=$?
if [ $# -eq 0 ] && [ "${SKIP_AIRFLOW31:-0}" != 1 ]; then
    echo "== Airflow $(.venv-airflow31/bin/python -c 'import airflow; print(airflow.__version__)'): tests marked airflow31"
    .venv-airflow31/bin/pytest -q -p no:cacheprovider -m airflow31 || status=$?
fi
exit $status
