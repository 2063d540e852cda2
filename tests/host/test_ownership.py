"""Nobody else's folder: a working_dir (or config folder) of another user, writable by others, or a symlink is
refused before anything is written; the default working_dir is private, per user and per job."""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from airflow_supervisor_async.config import SupervisorAirflowConfiguration
from airflow_supervisor_async.config.airflow import PRIVATE_BASE_PREFIX
from airflow_supervisor_async.host import LocalHost, UnsafePathError, lifecycle
from tests.fixtures.users import OTHER_UID, as_other_user, other_user_dir


def cfg_for(working_dir: Path | None, job: str = "own-job", **options: object) -> SupervisorAirflowConfiguration:
    return SupervisorAirflowConfiguration(
        working_dir=working_dir, job=job, program={"feed": {"command": "sleep 30"}}, **options
    )


async def test_working_dir_made_by_another_user_is_refused(scratch: Path) -> None:
    """The attack: another user pre-creates the (predictable) folder, then swaps supervisord.conf between
    configure and start so that supervisord runs their command as us. The folder is refused instead."""
    planted = other_user_dir(scratch / "job", mode=0o777)
    cfg = cfg_for(planted)
    with pytest.raises(UnsafePathError, match=f"belongs to uid {OTHER_UID}, not to you \\(uid 0\\)"):
        await lifecycle.write_config(LocalHost(), cfg)
    assert list(planted.iterdir()) == []  # nothing written into it
    as_other_user(["sh", "-c", f"echo '[program:evil]' > {planted}/supervisord.conf"])  # their swap
    with pytest.raises(UnsafePathError, match="not to you"):
        await lifecycle.start_supervisord(LocalHost(), cfg)
    assert not (planted / "supervisord.pid").exists()


async def test_default_base_made_by_another_user_is_refused(scratch: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tempfile.tempdir", str(scratch))
    cfg = cfg_for(None)
    base = cfg.resolved_working_dir.parent
    assert base == scratch / f"{PRIVATE_BASE_PREFIX}{os.getuid()}"
    other_user_dir(base, mode=0o755)
    with pytest.raises(UnsafePathError, match=r"private folder of default working dirs .* belongs to uid 65534"):
        await lifecycle.write_config(LocalHost(), cfg)
    assert list(base.iterdir()) == []


@pytest.mark.parametrize("mode", [0o770, 0o707, 0o777, 0o1777])
async def test_working_dir_writable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(mode)
    with pytest.raises(UnsafePathError, match=f"mode {stat.S_IMODE(mode):04o}.*chmod go-w {folder}"):
        await lifecycle.write_config(LocalHost(), cfg_for(folder))
    assert list(folder.iterdir()) == []


async def test_config_folder_is_checked_too(scratch: Path, tmp_path: Path) -> None:
    theirs = other_user_dir(scratch / "conf.d", mode=0o777)
    cfg = cfg_for(tmp_path / "wd", config_path=theirs / "feed.conf")
    with pytest.raises(UnsafePathError, match=r"config file's folder .* belongs to uid 65534"):
        await lifecycle.write_config(LocalHost(), cfg)
    assert list(theirs.iterdir()) == []


async def test_default_working_dir_is_private_and_per_job(monkeypatch: pytest.MonkeyPatch) -> None:
    tmp_path = Path(tempfile.mkdtemp(prefix="asa-o-", dir="/tmp"))
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    same_programs = [cfg_for(None, job=job) for job in ("dag_a", "dag_b", "dag_a.other_prefix")]
    dirs = [cfg.resolved_working_dir for cfg in same_programs]
    assert len(set(dirs)) == 3  # same program names, three jobs, three folders (and supervisords)
    assert all(d.parent == tmp_path / f"{PRIVATE_BASE_PREFIX}{os.getuid()}" for d in dirs)
    host = LocalHost()
    for cfg in same_programs:
        await lifecycle.write_config(host, cfg)
    base = dirs[0].parent
    assert stat.S_IMODE(base.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(d.stat().st_mode) == 0o700 for d in dirs)
    for cfg in same_programs:
        await lifecycle.remove_config(host, cfg)
    assert base.exists()  # shared by the user's jobs: never the job's to remove
    assert list(base.iterdir()) == []
    shutil.rmtree(tmp_path)


def test_long_job_names_keep_the_socket_path_short() -> None:
    long_job = "d" * 250  # DAG ids may be 250 characters
    a, b = cfg_for(None, job=long_job), cfg_for(None, job=long_job[:-1] + "e")
    assert len(str(a.resolved_unix_socket).encode()) <= 107
    assert a.resolved_working_dir != b.resolved_working_dir  # shortened with a hash of the whole name
    assert a.resolved_working_dir.name.startswith("ddd")


async def test_another_users_process_is_not_taken_for_supervisord(tmp_path: Path) -> None:
    """A process of another user whose command line mimics this job's supervisord is never signalled."""
    cfg = cfg_for(tmp_path / "wd")
    await lifecycle.write_config(LocalHost(), cfg)
    fake = subprocess.Popen(  # noqa: ASYNC220
        ["setpriv", f"--reuid={OTHER_UID}", f"--regid={OTHER_UID}", "--clear-groups",
         "sh", "-c", "sleep 60", "supervisord", "-c", str(cfg.resolved_config_path)],
    )  # fmt: skip
    try:
        # until setpriv has switched user the process is still ours (and its argv names supervisord)
        deadline = time.monotonic() + 10
        while os.stat(f"/proc/{fake.pid}").st_uid != OTHER_UID and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        (tmp_path / "wd" / "supervisord.pid").write_text(f"{fake.pid}\n")
        assert await lifecycle.supervisord_pid(LocalHost(), cfg) is None
        assert await lifecycle.stop_supervisord(LocalHost(), cfg) is False
        assert fake.poll() is None
    finally:
        fake.kill()
        fake.wait()
