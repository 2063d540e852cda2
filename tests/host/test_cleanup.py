"""Cleanup removes only what the job created, on real files: never a user's folder, never through a symlink,
never a home, temp root or the current directory; the logs of a failed job are kept."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

from airflow_supervisor_async.config import SupervisorAirflowConfiguration
from airflow_supervisor_async.host import LocalHost, UnsafePathError, lifecycle
from tests.fixtures.users import OTHER_UID

MANIFEST = ".airflow-supervisor-async.json"


def cfg_for(working_dir: Path, **options: Any) -> SupervisorAirflowConfiguration:
    return SupervisorAirflowConfiguration(
        working_dir=working_dir, program={"feed": {"command": "sleep 30"}}, **{"job": "feed-job", **options}
    )


def tree(path: Path) -> set[str]:
    return {str(p.relative_to(path)) for p in path.rglob("*")}


async def test_a_users_folder_without_manifest_is_never_deleted(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    folder.mkdir(mode=0o700)
    (folder / "results.csv").write_text("precious")
    (folder / "supervisord.conf").write_text("[supervisord]\n")  # even one that looks like ours
    with pytest.raises(UnsafePathError, match=r"no \.airflow-supervisor-async\.json.*nothing in it is deleted"):
        await lifecycle.remove_config(LocalHost(), cfg_for(folder))
    assert tree(folder) == {"results.csv", "supervisord.conf"}


@pytest.mark.parametrize("which", ["home", "temp root", "current directory"])
async def test_home_temp_root_and_cwd_are_refused(which: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Stand-ins for $HOME, the temp root and the cwd (the real ones are not put at risk by the test)."""
    victim = tmp_path / "victim"
    victim.mkdir(mode=0o700)
    (victim / "keep.txt").write_text("x")
    manifest = {"job": "feed-job", "working_dir": str(victim), "created_dirs": [str(victim)], "files": [], "version": 1}
    (victim / MANIFEST).write_text(json.dumps(manifest))
    if which == "home":
        monkeypatch.setenv("HOME", str(victim))
    elif which == "temp root":
        monkeypatch.setattr(tempfile, "tempdir", str(victim))
    else:
        monkeypatch.chdir(victim)
    cfg = cfg_for(victim)
    with pytest.raises(UnsafePathError, match=which):
        await lifecycle.remove_config(LocalHost(), cfg)
    with pytest.raises(UnsafePathError, match=which):
        await lifecycle.write_config(LocalHost(), cfg)
    assert tree(victim) == {"keep.txt", MANIFEST}


async def test_only_what_configure_created_is_removed(tmp_path: Path) -> None:
    """A working_dir that existed keeps its own files; folders the job made go with their content."""
    existing = tmp_path / "existing"
    existing.mkdir(mode=0o700)
    (existing / "notes.txt").write_text("mine")
    host, cfg = LocalHost(), cfg_for(existing)
    await lifecycle.write_config(host, cfg)
    (existing / "feed" / "output.log").write_text("program output")  # what the program wrote in its folder
    (existing / "supervisord.log").write_text("supervisord's log")
    cleanup = await lifecycle.remove_config(host, cfg)
    assert tree(existing) == {"notes.txt"}
    assert str(existing) in cleanup.kept

    nested = tmp_path / "made" / "by" / "job"  # parents made by the job go too, when empty
    (tmp_path / "made").mkdir()
    cfg = cfg_for(nested, config_path=tmp_path / "made" / "conf.d" / "feed.conf")
    await lifecycle.write_config(host, cfg)
    (tmp_path / "made" / "conf.d" / "other.conf").write_text("someone else's")  # in a folder the job made
    cleanup = await lifecycle.remove_config(host, cfg)
    assert tree(tmp_path / "made") == {"conf.d", "conf.d/other.conf"}  # not empty: kept with its stranger
    assert str(tmp_path / "made" / "conf.d") in cleanup.kept


async def test_symlinks_are_removed_never_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "data.txt").write_text("not the job's")
    host, cfg = LocalHost(), cfg_for(tmp_path / "wd")
    await lifecycle.write_config(host, cfg)
    (tmp_path / "wd" / "feed" / "link").symlink_to(outside)
    (tmp_path / "wd" / "feed" / "file-link").symlink_to(outside / "data.txt")
    (tmp_path / "wd" / "supervisord.pid").symlink_to(outside / "data.txt")  # a pid file that is a link
    await lifecycle.remove_config(host, cfg)
    assert not (tmp_path / "wd").exists()
    assert (outside / "data.txt").read_text() == "not the job's"

    # a working_dir that is a symlink is refused outright, both ways
    (tmp_path / "wd-link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafePathError, match="is a symlink"):
        await lifecycle.write_config(host, cfg_for(tmp_path / "wd-link"))
    with pytest.raises(UnsafePathError, match="is a symlink"):
        await lifecycle.remove_config(host, cfg_for(tmp_path / "wd-link"))
    assert tree(outside) == {"data.txt"}


async def test_config_path_of_someone_else_or_a_folder_is_left_alone(scratch: Path) -> None:
    """A config_path the job did not write is never overwritten nor deleted."""
    host = LocalHost()
    (scratch / "etc").mkdir(mode=0o755)
    theirs = scratch / "etc" / "theirs.conf"
    theirs.write_text("[supervisord]\n")
    os.chown(theirs, OTHER_UID, OTHER_UID)
    (scratch / "wd").mkdir(mode=0o700)
    cfg = cfg_for(scratch / "wd", config_path=theirs)
    with pytest.raises(UnsafePathError, match=f"already exists \\(file of uid {OTHER_UID}\\) and was not written"):
        await lifecycle.write_config(host, cfg)
    assert theirs.read_text() == "[supervisord]\n"
    assert theirs.stat().st_uid == OTHER_UID

    folder = scratch / "wd" / "a-folder.conf"
    folder.mkdir()
    (folder / "inside").write_text("x")
    cfg = cfg_for(scratch / "wd", config_path=folder)
    with pytest.raises(UnsafePathError, match="already exists \\(dir"):
        await lifecycle.write_config(host, cfg)
    await lifecycle.remove_config(host, cfg)  # removes what the two attempts created (the program folder) only
    assert (folder / "inside").read_text() == "x"
    assert theirs.read_text() == "[supervisord]\n"
    assert tree(scratch / "wd") == {"a-folder.conf", "a-folder.conf/inside"}


async def test_manifest_of_another_job_is_refused(tmp_path: Path) -> None:
    host = LocalHost()
    first = cfg_for(tmp_path / "shared", job="first")
    await lifecycle.write_config(host, first)
    second = cfg_for(tmp_path / "shared", job="second")
    with pytest.raises(UnsafePathError, match="belongs to job 'first', not to 'second'"):
        await lifecycle.write_config(host, second)
    with pytest.raises(UnsafePathError, match=r"belongs to job 'first'.*nothing deleted"):
        await lifecycle.remove_config(host, second)
    assert (tmp_path / "shared" / "supervisord.conf").exists()
    await lifecycle.remove_config(host, first)
    assert not (tmp_path / "shared").exists()


async def test_logs_of_a_failed_job_are_kept(tmp_path: Path) -> None:
    host, cfg = LocalHost(), cfg_for(tmp_path / "wd")
    await lifecycle.write_config(host, cfg)
    log_file = tmp_path / "wd" / "feed" / "output.log"
    log_file.write_text("why it failed")
    cleanup = await lifecycle.remove_config(host, cfg, keep_logs=True)
    assert log_file.read_text() == "why it failed"
    assert not (tmp_path / "wd" / "supervisord.conf").exists()
    assert str(tmp_path / "wd") in cleanup.kept
    await lifecycle.write_config(host, cfg)  # the next run reuses the folder (same job)
    await lifecycle.remove_config(host, cfg)  # and a clean end removes it all
    assert not (tmp_path / "wd").exists()


async def test_cleanup_refuses_while_supervisord_runs_and_is_idempotent(tmp_path: Path) -> None:
    working_dir = Path(tempfile.mkdtemp(prefix="asa-c-", dir="/tmp")) / "wd"
    host, cfg = LocalHost(), cfg_for(working_dir)
    try:
        await lifecycle.write_config(host, cfg)
        await lifecycle.start_supervisord(host, cfg)
        with pytest.raises(Exception, match="still runs"):
            await lifecycle.remove_config(host, cfg)
        await lifecycle.stop_supervisord(host, cfg)
        await lifecycle.remove_config(host, cfg)
        assert (await lifecycle.remove_config(host, cfg)).removed == []
        assert not working_dir.exists()
    finally:
        await lifecycle.force_kill(host, cfg)
        shutil.rmtree(working_dir.parent, ignore_errors=True)
