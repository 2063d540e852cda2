"""``tests/fixtures/strict_skips.py``: under CI=true a skipped sshd/Airflow test fails the run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

INNER_TESTS = """
import pytest

pytestmark = pytest.mark.ssh


def test_needs_sshd():
    pytest.skip("OpenSSH server not installed")


def test_plain():
    pass
"""


def run_inner(tmp_path: Path, *, ci: str | None, extra: str = "") -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["tests.fixtures.strict_skips"]\n')
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    ssh: sshd\n    airflow: Airflow\n")
    (tmp_path / "test_inner.py").write_text(INNER_TESTS + extra)
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "AIRFLOW_SUPERVISOR_ASYNC_TESTS_WITHOUT_AIRFLOW")}
    env["PYTHONPATH"] = str(ROOT)
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", str(tmp_path / "test_inner.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_a_skipped_ssh_test_is_a_failure_under_ci(tmp_path: Path) -> None:
    inner = run_inner(tmp_path, ci="true")
    assert inner.returncode == 1, inner.stdout
    assert "a test marked ssh was skipped under CI=true: OpenSSH server not installed" in inner.stdout
    assert "1 failed" in inner.stdout


@pytest.mark.slow
def test_outside_ci_the_skip_is_shown_with_its_reason(tmp_path: Path) -> None:
    inner = run_inner(tmp_path, ci=None)
    assert inner.returncode == 0, inner.stdout
    assert "SKIPPED [1]" in inner.stdout
    assert "OpenSSH server not installed" in inner.stdout


@pytest.mark.slow
def test_a_module_skipped_at_collection_is_a_failure_under_ci(tmp_path: Path) -> None:
    inner = run_inner(tmp_path, ci="true", extra='\npytest.importorskip("no_such_module_here")\n')
    assert inner.returncode != 0, inner.stdout
    assert "was skipped at collection under CI=true" in inner.stdout


@pytest.mark.slow
@pytest.mark.parametrize("ci", ["true", None])
def test_an_unskipped_test_is_untouched(tmp_path: Path, ci: str | None) -> None:
    inner = run_inner(tmp_path, ci=ci, extra="\n\ndef test_more():\n    assert True\n")
    assert inner.returncode == (1 if ci else 0), inner.stdout
    assert "2 passed" in inner.stdout
