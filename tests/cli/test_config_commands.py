"""`render` and `validate` through the installed console script, with and without Airflow importable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

CLI = Path(sys.executable).with_name("airflow-supervisor-async")

GOOD = """\
working_dir: {wd}
airflow: {{username: ops, password: hunter2}}
program:
  feed: {{command: python -c 'print(1)'}}
"""


def run(*args: str, python_args: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, *python_args, *args] if python_args else [str(CLI), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture
def good_config(tmp_path: Path) -> Path:
    path = tmp_path / "job.yaml"
    path.write_text(GOOD.format(wd=tmp_path / "wd"))
    return path


def test_validate_ok(good_config: Path) -> None:
    result = run("validate", str(good_config))
    assert result.returncode == 0, result.stderr
    assert "valid local configuration with 1 program(s): feed" in result.stdout


def test_validate_reports_field_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("program:\n  feed: {command: x, startsecs: soon}\n")
    result = run("validate", str(bad))
    assert result.returncode == 1
    assert "program.feed.startsecs" in result.stderr
    assert "'soon'" in result.stderr


@pytest.mark.slow
def test_render_to_stdout_and_file(good_config: Path, tmp_path: Path) -> None:
    result = run("render", str(good_config), "--set", "program.feed.command=sleep 3")
    assert result.returncode == 0, result.stderr
    assert "[program:feed]" in result.stdout
    assert "command=sleep 3" in result.stdout
    assert "hunter2" not in result.stdout
    out = tmp_path / "out" / "supervisord.conf"
    result = run("render", str(good_config), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert out.stat().st_mode & 0o777 == 0o600  # holds a password hash


def test_render_writes_nothing_on_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("program:\n  'bad name': {command: x}\n")
    out = tmp_path / "supervisord.conf"
    result = run("render", str(bad), "-o", str(out))
    assert result.returncode == 1
    assert "bad name" in result.stderr
    assert not out.exists()


@pytest.mark.parametrize(
    ("yaml_text", "args", "expected"),
    [
        ("program: {feed: {command: x}}\nairflow: {exitcodes: [0, 300]}", ("validate",), "airflow.exitcodes[1]"),
        ("program: {feed: {command: x}}\nairflow: {exitcodes: [0, 300]}", ("render",), "airflow.exitcodes[1]"),
        ("program:\n  feed: [1\n  b: 2\n", ("validate",), "(yaml): line 3, column 4: "),
        ("program: {feed: {command: x}}", ("validate", "--set", "check_interval=-3"), "(got -3 s)"),
        ("program: {feed: {command: x}}", ("render", "-o", "/proc/no-such-dir/supervisord.conf"), "render -o: "),
    ],
)
def test_user_mistakes_are_one_line_with_exit_1(
    tmp_path: Path, yaml_text: str, args: tuple[str, ...], expected: str
) -> None:
    config = tmp_path / "job.yaml"
    config.write_text(yaml_text)
    result = run(args[0], str(config), *args[1:])
    assert result.returncode == 1, result.stdout
    assert len(result.stderr.splitlines()) == 1, result.stderr  # no traceback
    assert expected in result.stderr


def test_help_needs_neither_pydantic_models_nor_the_client() -> None:
    probe = (
        "import sys; from airflow_supervisor_async.cli.main import build_parser; build_parser(); "
        "print(sorted(m for m in ('pydantic', 'asyncssh', 'airflow', 'airflow_supervisor_async.config.airflow') "
        "if m in sys.modules))"
    )
    result = run(python_args=("-c", probe))
    assert result.stdout.strip() == "[]", result.stderr


@pytest.mark.slow
def test_render_and_validate_work_without_airflow(good_config: Path) -> None:
    blocker = "import sys; sys.modules['airflow'] = None; from airflow_supervisor_async.cli.main import main; "
    result = run(python_args=("-c", blocker + f"sys.exit(main(['render', {str(good_config)!r}]))"))
    assert result.returncode == 0, result.stderr
    assert "[program:feed]" in result.stdout
