#!/usr/bin/env bash
# Set up (idempotent) and run the whole test suite: lint and mypy, then pytest against real
# supervisord, a real OpenSSH sshd on 127.0.0.1 and real Airflow (the newest release, in .venv);
# then the Airflow-level tests marked `airflow31` again on Airflow 3.1 (in .venv-airflow31); then the
# library without Airflow (.venv-core, no airflow extra): the tests not marked airflow or ssh.
# The second and third run in the background beside the first. With arguments (e.g. `-m "not slow"`
# or a test path) only the first run happens, with them; SKIP_AIRFLOW31=1 skips the second. pytest
# lists every skip (-rs); under CI=true a skipped sshd/Airflow test fails the run
# (tests/fixtures/strict_skips.py).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy  # the package; strict on config/, client/, host/, triggers/ (pyproject.toml)
status=0
if [ $# -gt 0 ]; then
    exec .venv/bin/pytest -q -p no:cacheprovider "$@"
fi
# The three runs overlap: most of a test's time is waiting on real processes, and this machine has two
# cores. The Airflow 3.1 and no-Airflow runs go in the background (their output is printed when they end).
bash scripts/setup.sh --core
logs=$(mktemp -d)
others() {
    local rc=0
    if [ "${SKIP_AIRFLOW31:-0}" != 1 ]; then
        echo "== Airflow $(.venv-airflow31/bin/python -c 'import airflow; print(airflow.__version__)'): tests marked airflow31"
        .venv-airflow31/bin/pytest -q -p no:cacheprovider -m airflow31 || rc=1
    fi
    echo "== without Airflow (.venv-core): the library's tests not marked airflow or ssh"
    AIRFLOW_SUPERVISOR_ASYNC_TESTS_WITHOUT_AIRFLOW=1 .venv-core/bin/pytest -q -p no:cacheprovider \
        -m "not airflow and not ssh" || rc=1
    return $rc
}
others >"$logs/others.log" 2>&1 &
others_pid=$!
echo "== Airflow $(.venv/bin/python -c 'import airflow; print(airflow.__version__)'): every test"
.venv/bin/pytest -q -p no:cacheprovider --durations=30 || status=$?  # the 30 slowest: what to re-mark
wait "$others_pid" || status=1
cat "$logs/others.log"
rm -rf "$logs"
exit $status
