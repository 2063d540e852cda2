"""The host-side steps of a job: write the config, start and stop supervisord, remove the config.

Each step is idempotent (starting what runs, stopping what is stopped, removing what is gone all
succeed) and works on any ``Host``: the local and the SSH shape share this code. The safety rules:

- ``write_config`` uses only folders of ours (see ``safety``) and records what it creates in a manifest.
- ``remove_config`` removes only what that manifest lists, never following a symlink, and refuses
  (deleting nothing) without a manifest for this job.
- Only a process whose owner is us and whose command line is supervisord with this job's config file
  is ever signalled; a pid file naming anything else means supervisord is not running.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import TYPE_CHECKING

from .base import HostCommandError
from .lease import acquire_lease, lease_files
from .safety import (
    MANIFEST_NAME,
    Manifest,
    UnsafePathError,
    check_own_dir,
    ensure_dir,
    forbidden_reason,
    read_manifest,
    remove_tree,
    write_manifest,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from ..config import SupervisorAirflowConfiguration
    from .base import Host, HostIdentity
    from .lease import RunId

__all__ = (
    "Cleanup",
    "dead_supervisord",
    "force_kill",
    "is_supervisord_of",
    "kill_orphaned_programs",
    "orphaned_programs",
    "remove_config",
    "start_supervisord",
    "stop_supervisord",
    "supervisord_pid",
    "write_config",
)

log = logging.getLogger(__name__)

_PID = re.compile(r"[0-9]{1,10}")  # ASCII digits only: int() would also take other scripts' digits
_SUPERVISORD = re.compile(r"(?:^|[\s/])supervisord(?:\s|$)|(?:^|\s)supervisor\.supervisord(?:\s|$)")
_warned: set[tuple[str, str, int]] = set()


# -- configure ------------------------------------------------------------------------------------------------


async def write_config(
    host: Host,
    cfg: SupervisorAirflowConfiguration,
    *,
    run: RunId | None = None,
    may_take_over: Callable[[RunId], Awaitable[bool]] | None = None,
) -> PurePath:
    """Set up ``working_dir`` and write supervisord.conf (atomically, mode 0600); return its path.

    Folders are created with mode 0700 (existing ones must be ours and writable by us only), and what is
    created is recorded in the manifest in ``working_dir``. With ``run``, the job's lease is taken for that
    DAG run first (see ``lease.acquire_lease``). Nothing is written for invalid input, a folder that is
    not ours, a ``working_dir`` of another job, or a config file this job did not write.
    """
    text = cfg.to_conf()  # renders (and so validates) before anything is written
    me = await host.identity()
    wd = cfg.resolved_working_dir
    if (base := cfg.default_working_dir_base) is not None:
        await ensure_dir(host, base, me, what="the private folder of default working dirs")  # shared by your jobs
    wd_created = await ensure_dir(host, wd, me, what="working_dir")
    manifest = await read_manifest(host, wd, me)
    if manifest is None:
        manifest = Manifest(job=cfg.resolved_job, working_dir=str(wd))
    elif manifest.job != cfg.resolved_job:
        raise UnsafePathError(
            f"working_dir {wd} on {host.description} belongs to job {manifest.job!r}, not to {cfg.resolved_job!r}: "
            "two jobs never share a working_dir (nor a supervisord). Choose another working_dir, or set "
            f"`job: {manifest.job}` if this is that job."
        )
    manifest.add_dirs(wd_created)
    await write_manifest(host, manifest)  # at once: whatever happens next, cleanup knows what is the job's
    if run is not None:
        taken_from = await acquire_lease(host, cfg, run, may_take_over or _never)
        if taken_from is not None:
            log.info("took the job over from %s", taken_from)
    path = cfg.resolved_config_path
    await _check_config_file(host, path, manifest, me)
    created: list[PurePath] = []
    try:
        if path.parent != wd:
            await ensure_dir(host, path.parent, me, what="the config file's folder", created=created)
        for name in cfg.program:
            await ensure_dir(host, wd / name, me, what=f"the folder of program {name!r}", created=created)
        manifest.add_file(path)
    finally:
        manifest.add_dirs(created)
        await write_manifest(host, manifest)  # before the config file: it lists it
    await host.write_file(path, text, mode=cfg.config_file_mode())
    log.info("wrote %s on %s", path, host.description)
    return path


async def _pid_alive(host: Host, pid: int) -> bool:
    """Whether ``pid`` runs on the host; a zombie (killed, not yet reaped by its parent) does not."""
    result = await host.run(["ps", "-o", "stat=", "-p", str(pid)], timeout=15)
    return result.returncode == 0 and not result.stdout.strip().startswith("Z")


async def _never(holder: RunId) -> bool:
    return False


async def _check_config_file(host: Host, path: PurePath, manifest: Manifest, me: HostIdentity) -> None:
    """Overwrite only a config file this job wrote before."""
    info = await host.lstat(path)
    if info is None:
        return
    if str(path) not in manifest.files or info.kind != "file" or info.uid != me.uid:
        raise UnsafePathError(
            f"config_path {path} on {host.description} already exists ({info.kind} of uid {info.uid}) and was not "
            f"written by job {manifest.job!r}: it is left alone; remove it yourself or choose another config_path"
        )


# -- supervisord process ---------------------------------------------------------------------------------------


def is_supervisord_of(args: str, config_path: PurePath) -> bool:
    """Whether command line ``args`` (arguments joined by spaces) is supervisord started with ``config_path``."""
    if not _SUPERVISORD.search(args):
        return False
    conf = str(config_path)
    return any(f"{option}{conf} " in f"{args} " for option in (" -c ", " --configuration=", " --configuration "))


async def supervisord_pid(host: Host, cfg: SupervisorAirflowConfiguration) -> int | None:
    """The pid of this configuration's running supervisord, or None if it is not running.

    The pid file is trusted only for a pid above 1 whose process is ours and runs supervisord with this
    job's config file (``/proc`` locally, ``ps`` over SSH): anything else means "not running", so an
    unrelated process is never signalled.
    """
    pidfile = cfg.resolved_pidfile
    raw = (await host.read_file(pidfile) or "").strip()
    if not raw:
        return None
    if not _PID.fullmatch(raw) or int(raw) <= 1:
        _warn_once(host, pidfile, -1, f"pid file %s on %s holds {raw[:20]!r}, not a process id", pidfile)
        return None
    pid = int(raw)
    process = await host.process(pid)
    if process is None:
        return None
    me = await host.identity()
    if process.uid != me.uid or not is_supervisord_of(process.args, cfg.resolved_config_path):
        what = f"uid {process.uid}: {process.args[:120]}"
        _warn_once(host, pidfile, pid, f"pid file %s on %s names pid {pid}, which is not this job's supervisord "
                   f"({what})", pidfile)  # fmt: skip
        return None
    return pid


def _warn_once(host: Host, pidfile: PurePath, pid: int, message: str, path: PurePath) -> None:
    key = (host.description, str(pidfile), pid)
    if key not in _warned:
        _warned.add(key)
        log.warning(message + "; supervisord is treated as not running", path, host.description)


async def dead_supervisord(host: Host, cfg: SupervisorAirflowConfiguration) -> int | None:
    """The pid of this job's supervisord if its pid file names a process that no longer runs, else None.

    supervisord removes its pid file when it exits normally: a pid file left over means it was killed
    (or crashed) and its programs may still run, orphaned.
    """
    text = await host.read_file(cfg.resolved_pidfile)
    raw = (text or "").strip()
    if not _PID.fullmatch(raw):
        return None
    pid = int(raw)
    if pid <= 1:  # never a supervisord of ours (and `ps -p 0` would not say so)
        return None
    return None if await _pid_alive(host, pid) else pid


# Processes that supervisord started for this job and that outlived it: supervisord puts the job's unique
# server URL (its unix socket, which lives in working_dir) into each program's environment and makes each
# program a process group leader. A group leader of ours (same uid: root must not kill another user's process
# that copied the variable) carrying that URL whose parent is not a supervisord is a program of this job's dead
# supervisord. Prints "<pid> <program>" per leftover. POSIX sh, Linux /proc.
_ORPHANS_SH = r"""
marker="SUPERVISOR_SERVER_URL=$1"
for dir in /proc/[0-9]*; do
  pid=${dir#/proc/}
  [ -O "$dir" ] || continue
  tr '\0' '\n' 2>/dev/null < "$dir/environ" | grep -qxF "$marker" || continue
  stat=$(cat "$dir/stat" 2>/dev/null) || continue
  set -- ${stat##*) }
  [ "$1" != Z ] && [ "$3" = "$pid" ] || continue
  tr '\0' ' ' 2>/dev/null < "/proc/$2/cmdline" | grep -q supervisord && continue
  echo "$pid $(tr '\0' '\n' 2>/dev/null < "$dir/environ" | sed -n 's/^SUPERVISOR_PROCESS_NAME=//p')"
done
"""


async def orphaned_programs(host: Host, cfg: SupervisorAirflowConfiguration) -> dict[int, str]:
    """Process groups (leader pid -> program name) of this job's programs left by a dead supervisord."""
    url = f"unix://{cfg.resolved_unix_socket}"
    result = await host.run(["sh", "-c", _ORPHANS_SH, "sh", url], timeout=30)
    found: dict[int, str] = {}
    for line in result.stdout.splitlines():
        pid, _, name = line.partition(" ")
        if pid.isdigit() and name in cfg.program:
            found[int(pid)] = name
    return found


async def kill_orphaned_programs(host: Host, cfg: SupervisorAirflowConfiguration) -> dict[int, str]:
    """SIGKILL the process groups of programs a dead supervisord left behind; returns what was killed."""
    orphans = await orphaned_programs(host, cfg)
    for pid, name in orphans.items():
        await host.run(["kill", "-KILL", "--", f"-{pid}"], timeout=15)
        log.warning(
            "killed the process group %d of program %r on %s: its supervisord is gone", pid, name, host.description
        )
    return orphans


async def _wait_for(
    pid_hint: int | None, host: Host, cfg: SupervisorAirflowConfiguration, *, running: bool, timeout: float
) -> int | None:
    deadline = time.monotonic() + timeout
    while True:
        pid = await supervisord_pid(host, cfg)
        if (pid is not None) == running:
            return pid
        if time.monotonic() > deadline:
            state = "start" if running else "stop"
            raise HostCommandError(
                f"supervisord for {cfg.resolved_config_path} did not {state} within {timeout:g} s on {host.description}"
                + (f" (pid {pid_hint})" if pid_hint else "")
            )
        await asyncio.sleep(0.1)


async def start_supervisord(host: Host, cfg: SupervisorAirflowConfiguration, *, timeout: float = 30.0) -> int:
    """Start supervisord with the written config unless it already runs; return its pid."""
    pid = await supervisord_pid(host, cfg)
    if pid is not None:
        log.info("supervisord already running on %s (pid %d)", host.description, pid)
        return pid
    config_path = await _checked_config(host, cfg)
    result = await host.run(host.supervisord_argv(config_path), timeout=timeout)
    if result.returncode != 0:
        # supervisord opens its sockets before it daemonizes, so a port or socket conflict shows up here
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise HostCommandError(
            f"supervisord failed to start on {host.description} (exit {result.returncode}): "
            + (detail[-1] if detail else "no output")
        )
    started = await _wait_for(None, host, cfg, running=True, timeout=timeout)
    assert started is not None
    log.info("supervisord started on %s (pid %d)", host.description, started)
    return started


async def _checked_config(host: Host, cfg: SupervisorAirflowConfiguration) -> PurePath:
    """The config file, if the configure step of this job wrote it in a folder of ours (else it is not run)."""
    path, wd = cfg.resolved_config_path, cfg.resolved_working_dir
    info = await host.lstat(path)
    if info is None:
        raise HostCommandError(f"no supervisord config at {path} on {host.description}: write it first")
    me = await host.identity()
    wd_info = await host.lstat(wd)
    if wd_info is not None:
        check_own_dir(wd, wd_info, me, what="working_dir", where=host.description)
    manifest = await read_manifest(host, wd, me) if wd_info is not None else None
    if manifest is None or manifest.job != cfg.resolved_job or str(path) not in manifest.files:
        raise UnsafePathError(
            f"{path} on {host.description} was not written by the configure step of job {cfg.resolved_job!r}: "
            "supervisord is not started with it"
        )
    await _check_config_file(host, path, manifest, me)  # a real file of ours
    return path


def _stop_timeout(cfg: SupervisorAirflowConfiguration) -> float:
    waits = [p.stopwaitsecs for p in cfg.effective_configuration().program.values() if p.stopwaitsecs is not None]
    return float(max(waits, default=10)) + 15.0


async def stop_supervisord(host: Host, cfg: SupervisorAirflowConfiguration, *, timeout: float | None = None) -> bool:
    """Stop supervisord (it stops its programs first); return False if it was not running.

    Sends SIGTERM (and SIGCONT, so that a stopped supervisord can act on it), waits up to the longest
    ``stopwaitsecs`` plus a margin (or ``timeout`` seconds), then SIGKILLs supervisord and its programs'
    process groups: a hung supervisord is cleaned up too.
    """
    pid = await supervisord_pid(host, cfg)
    if pid is None:
        await _clean_after_dead_supervisord(host, cfg)
        return False
    await host.run(["kill", "-TERM", str(pid)], timeout=15)
    await host.run(["kill", "-CONT", str(pid)], timeout=15)
    try:
        await _wait_for(pid, host, cfg, running=False, timeout=timeout or _stop_timeout(cfg))
    except HostCommandError:
        log.warning("supervisord (pid %d) did not end after SIGTERM on %s; killing it", pid, host.description)
        await force_kill(host, cfg)
    log.info("supervisord stopped on %s", host.description)
    return True


async def force_kill(host: Host, cfg: SupervisorAirflowConfiguration, *, timeout: float = 15.0) -> bool:
    """SIGKILL supervisord and the process groups of its programs; return False if it was not running."""
    pid = await supervisord_pid(host, cfg)
    if pid is None:
        await _clean_after_dead_supervisord(host, cfg)
        return False
    children = await host.run(["pgrep", "-P", str(pid)], timeout=15)
    # Each program is the leader of its own process group: kill the groups so grandchildren die too.
    for child in children.stdout.split():
        if _PID.fullmatch(child) and int(child) > 1:
            await host.run(["kill", "-KILL", "--", f"-{child}"], timeout=15)
    await host.run(["kill", "-KILL", str(pid)], timeout=15)
    deadline = time.monotonic() + timeout
    while await host.process(pid) is not None:  # SIGKILL is delivered asynchronously
        if time.monotonic() > deadline:
            raise HostCommandError(f"supervisord (pid {pid}) survived SIGKILL for {timeout:g} s on {host.description}")
        await asyncio.sleep(0.05)
    await host.remove_file(cfg.resolved_pidfile)
    log.warning("force-killed supervisord (pid %d) on %s", pid, host.description)
    return True


async def _clean_after_dead_supervisord(host: Host, cfg: SupervisorAirflowConfiguration) -> None:
    """supervisord is not running: if it was killed, kill the programs it left and remove its stale pid file."""
    pid = await dead_supervisord(host, cfg)
    if pid is None:
        return
    log.warning(
        "supervisord (pid %d) on %s was not stopped by Airflow: it was killed or crashed", pid, host.description
    )
    await kill_orphaned_programs(host, cfg)
    await host.remove_file(cfg.resolved_pidfile)


# -- cleanup --------------------------------------------------------------------------------------------------


@dataclass
class Cleanup:
    """What ``remove_config`` removed and what it left in place."""

    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


async def _remove_own_file(host: Host, path: PurePath, me: HostIdentity, cleanup: Cleanup) -> None:
    info = await host.lstat(path)
    if info is None:
        return
    if info.kind in ("file", "socket", "symlink") and info.uid == me.uid and forbidden_reason(path, me) is None:
        await host.remove_file(path)
        cleanup.removed.append(str(path))
    else:
        cleanup.kept.append(str(path))


async def remove_config(host: Host, cfg: SupervisorAirflowConfiguration, *, keep_logs: bool = False) -> Cleanup:
    """Remove what the configure step created for this job, as its manifest lists it; refuses while
    supervisord runs.

    Folders it created inside ``working_dir`` go with their content (symlinks in them are removed, never
    followed); folders it created elsewhere go only when empty; in a ``working_dir`` it did not create, only
    its own files go. With ``keep_logs`` (a failed job) only the config, pid file, socket and lease go:
    the logs stay where they are, with the manifest, for a later cleanup.

    :raises UnsafePathError: ``working_dir`` is forbidden, not ours, or has no manifest of this job
        (nothing is deleted then).
    """
    pid = await supervisord_pid(host, cfg)
    wd = cfg.resolved_working_dir
    if pid is not None:
        raise HostCommandError(
            f"supervisord still runs on {host.description} (pid {pid}); stop it before removing {wd}"
        )
    me = await host.identity()
    if reason := forbidden_reason(wd, me):
        raise UnsafePathError(f"working_dir {wd} on {host.description} {reason}: nothing deleted")
    info = await host.lstat(wd)
    cleanup = Cleanup()
    if info is None:
        return cleanup  # already gone
    check_own_dir(wd, info, me, what="working_dir", where=host.description)
    manifest = await read_manifest(host, wd, me)
    if manifest is None:
        raise UnsafePathError(
            f"working_dir {wd} on {host.description} has no {MANIFEST_NAME}: it was not set up by the configure step "
            "of this library, so nothing in it is deleted. Remove it yourself if it is yours."
        )
    if manifest.job != cfg.resolved_job:
        raise UnsafePathError(
            f"working_dir {wd} on {host.description} belongs to job {manifest.job!r}, not to {cfg.resolved_job!r}: "
            f"nothing deleted (set `job: {manifest.job}` to act on that job)"
        )
    runtime = [
        cfg.resolved_pidfile,
        cfg.resolved_unix_socket,
        *(wd / n for n in (await lease_files(host, wd)).values()),
    ]
    for path in [*map(PurePath, manifest.files), *runtime]:
        await _remove_own_file(host, path, me, cleanup)
    if keep_logs:
        cleanup.kept.append(str(wd))
        return cleanup
    await _remove_created_dirs(host, manifest, wd, me, cleanup)
    if str(wd) not in manifest.created_dirs:  # a folder someone else made: only supervisord's log and the manifest
        await _remove_supervisord_log(host, cfg, me, cleanup)
        await host.remove_file(wd / MANIFEST_NAME)
        cleanup.kept.append(str(wd))
    log.info("removed %s on %s", ", ".join(cleanup.removed) or "nothing", host.description)
    return cleanup


async def _remove_supervisord_log(
    host: Host, cfg: SupervisorAirflowConfiguration, me: HostIdentity, cleanup: Cleanup
) -> None:
    """supervisord's activity log and its rotations, when they are in ``working_dir``."""
    wd, logfile = cfg.resolved_working_dir, cfg.effective_configuration().supervisord.logfile
    if logfile is None or PurePath(str(logfile)).parent != wd:
        return
    pattern = re.escape(PurePath(str(logfile)).name) + r"(\.\d+)?"
    for name, entry in await host.list_dir(wd):
        if re.fullmatch(pattern, name) and entry.kind == "file" and entry.uid == me.uid:
            await host.remove_file(wd / name)
            cleanup.removed.append(str(wd / name))


async def _remove_created_dirs(
    host: Host, manifest: Manifest, wd: PurePath, me: HostIdentity, cleanup: Cleanup
) -> None:
    """Deepest first: inside ``working_dir`` with their content, elsewhere only when empty."""
    for folder in sorted(map(PurePath, manifest.created_dirs), key=lambda p: len(p.parts), reverse=True):
        info = await host.lstat(folder)
        if info is None:
            continue
        if forbidden_reason(folder, me) or info.kind != "dir" or info.uid != me.uid:
            cleanup.kept.append(str(folder))
            continue
        if folder == wd or wd in folder.parents:
            await remove_tree(host, folder, info)
            cleanup.removed.append(str(folder))
        elif await host.remove_dir(folder):
            cleanup.removed.append(str(folder))
        else:
            cleanup.kept.append(str(folder))  # not empty: someone else's files are in it
