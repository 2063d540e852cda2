"""``scripts/setup.sh`` on a PEP 668 system: a Python whose ``pip install`` is refused system-wide.

The Python is real: the interpreter this test runs on, copied with its standard library beside it (linked
file by file) and an ``EXTERNALLY-MANAGED`` marker added, as Debian 12 and Ubuntu 23.04+ ship theirs. No
``uv`` is on PATH, so setup must make its venv with the standard library and install uv inside it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STANDARD_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")

pytestmark = pytest.mark.slow


def externally_managed_python(where: Path) -> Path:
    """A copy of the base interpreter under ``where`` whose standard library carries EXTERNALLY-MANAGED."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    base = Path(sys.base_prefix)
    binary = where / "bin" / "python3"
    binary.parent.mkdir(parents=True)
    shutil.copy2(base / "bin" / version, binary)
    stdlib = where / "lib" / version
    stdlib.mkdir(parents=True)
    for entry in (base / "lib" / version).iterdir():
        if entry.name != "EXTERNALLY-MANAGED":
            (stdlib / entry.name).symlink_to(entry)
    if (base / "lib" / "python3").is_dir():  # Debian keeps pip in lib/python3/dist-packages
        (where / "lib" / "python3").symlink_to(base / "lib" / "python3")
    (stdlib / "EXTERNALLY-MANAGED").write_text("[externally-managed]\nError=managed by the test's system\n")
    return binary


def copy_project(to: Path) -> Path:
    """What setup needs of the project: its metadata, package and scripts (never the developer's venvs)."""
    to.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, to / name)
    ignore = shutil.ignore_patterns("__pycache__")
    for name in ("airflow_supervisor_async", "scripts"):
        shutil.copytree(ROOT / name, to / name, ignore=ignore)
    return to


def path_without_uv() -> str:
    return os.pathsep.join(d for d in STANDARD_PATH if Path(d).is_dir() and not (Path(d) / "uv").exists())


def test_setup_works_where_system_wide_pip_is_refused(tmp_path: Path) -> None:
    python = externally_managed_python(tmp_path / "python")
    env = {**os.environ, "PATH": path_without_uv(), "PYTHON": str(python)}
    env.pop("VIRTUAL_ENV", None)
    assert shutil.which("uv", path=env["PATH"]) is None

    refused = subprocess.run(
        [str(python), "-m", "pip", "install", "--dry-run", "uv"], env=env, capture_output=True, text=True, timeout=120
    )
    assert refused.returncode != 0, "the copied Python accepted a system-wide pip install: no PEP 668 to test"
    assert "externally-managed-environment" in refused.stdout + refused.stderr

    project = copy_project(tmp_path / "project")
    setup = subprocess.run(
        ["bash", "scripts/setup.sh", "--core"], cwd=project, env=env, capture_output=True, text=True, timeout=900
    )
    assert setup.returncode == 0, setup.stdout + setup.stderr
    assert "externally-managed" not in setup.stderr
    venv_python = project / ".venv-core" / "bin" / "python"
    assert (project / ".venv-core" / "bin" / "uv").exists(), "uv belongs inside the venv"
    check = "import importlib.util as u, airflow_supervisor_async, pytest; print(u.find_spec('airflow') is None)"
    imported = subprocess.run([str(venv_python), "-c", check], capture_output=True, text=True, timeout=120)
    assert imported.stdout.strip() == "True", imported.stderr  # the library and its tests, without Airflow
    base = subprocess.run(
        [str(venv_python), "-c", "import sys; print(sys.base_prefix)"], capture_output=True, text=True, timeout=60
    )
    assert Path(base.stdout.strip()) == tmp_path / "python"  # the venv was made from the refusing Python
