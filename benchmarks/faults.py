"""Run the fault scenarios (``pytest -m faults``) and print the README's faults table.

Each test under ``tests/faults`` records what it observed for its scenario (observed behaviour, time from
the fault to its detection, data lost); this script runs them with real components (a remote host in a
network namespace with its own sshd, real supervisord, real ``airflow dags test`` or a real scheduler +
triggerer) and renders one Markdown row per scenario, ``FAILED``/``SKIPPED``/``not run`` included.
Needs root (network namespaces). About 10 minutes on a 2-core machine.

    .venv/bin/python benchmarks/faults.py [--json rows.json] [pytest args, e.g. -k partition]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.support.fault_table import load, render  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also keep the observed rows in this JSON file")
    args, pytest_args = parser.parse_known_args(argv)
    with tempfile.TemporaryDirectory(prefix="asa-faults-") as folder:
        rows_path = args.json or Path(folder) / "rows.json"
        env = {**os.environ, "FAULTS_REPORT": str(rows_path)}
        command = [sys.executable, "-m", "pytest", "-m", "faults", "-q", "-p", "no:cacheprovider", *pytest_args]
        print("$", " ".join(command), file=sys.stderr)
        # pytest's report goes to stderr: stdout is the table alone
        status = subprocess.run(command, cwd=REPO_ROOT, env=env, stdout=sys.stderr, check=False).returncode
        rows = load(rows_path) if rows_path.exists() else []
    print(render(rows))
    return status


if __name__ == "__main__":
    raise SystemExit(main())
