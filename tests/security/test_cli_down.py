"""``down --remove`` through the console script: never a folder the job did not create."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.jobs import short_tempdir

CLI = Path(sys.executable).with_name("airflow-supervisor-async")


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.slow
def test_down_remove_refuses_a_users_folder_and_removes_only_what_up_made() -> None:
    folder = short_tempdir("asa-down-")
    try:
        project = folder / "project"
        project.mkdir(mode=0o700)
        (project / "results.csv").write_text("precious")
        config = folder / "job.yaml"
        config.write_text(f"working_dir: {project}\nprogram:\n  feed: {{command: sleep 60}}\n")
        refused = cli("down", config, "--remove")
        assert refused.returncode == 1, refused.stderr
        assert "has no .airflow-supervisor-async.json" in refused.stderr
        assert "nothing in it is deleted" in refused.stderr
        assert sorted(p.name for p in project.iterdir()) == ["results.csv"]

        up = cli("up", config)
        assert up.returncode == 0, up.stderr
        down = cli("down", config, "--remove")
        assert down.returncode == 0, down.stderr
        assert f"kept {project} (not created by the job)" in down.stdout
        assert sorted(p.name for p in project.iterdir()) == ["results.csv"]
    finally:
        pid = folder / "project" / "supervisord.pid"
        if pid.exists():
            subprocess.run(["kill", "-KILL", pid.read_text().strip()], check=False)
        shutil.rmtree(folder, ignore_errors=True)
