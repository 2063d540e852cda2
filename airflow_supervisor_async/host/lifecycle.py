"""The host-side steps of a job: write the config, start and stop supervisord, remove the config.

Each step is idempotent (starting what runs, stopping what is stopped, removing what is gone all
succeed) and works on any ``Host``: the local and the SSH shape share this code.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from .base import HostCommandError

if TYPE_CHECKING:
    from pathlib import PurePath

    from ..config import SupervisorAirflowConfiguration
    from .base import Host

__all__ = (
    "dead_supervisord",
    "force_kill",
    "kill_orphaned_programs",
    "orphaned_programs",
    "remove_config",
    "start_supervisord",
    "stop_supervisord",
    "supervisord_pid",
    "write_config",
)

log = logging.getLogger(__name__)


async def write_config(host: Host, cfg: SupervisorAirflowConfiguration) -> PurePath:
    """Create ``working_dir`` (0700) and the program folders, then write supervisord.conf atomically."""
    text = cfg.to_conf()  # renders (and so validates) before anything is written
    wd = cfg.resolved_working_dir
    await host.make_dirs([wd, *(wd / name for name in cfg.program)], mode=0o700)
    path = cfg.resolved_config_path
    await host.write_file(path, text, mode=cfg.config_file_mode())
    log.info("wrote %s on %s", path, host.description)
    return path


async def _pid_alive(host: Host, pid: int) -> bool:
    """Whether ``pid`` runs on the host; a zombie (killed, not yet reaped by its parent) does not."""
    result = await host.run(["ps", "-o", "stat=", "-p", str(pid)], timeout=15)
    return result.returncode == 0 and not result.stdout.strip().startswith("Z")


async def supervisord_pid(host: Host, cfg: SupervisorAirflowConfiguration) -> int | None:
    """The pid of this configuration's running supervisord, or None if it is not running."""
    text = await host.read_file(cfg.resolved_pidfile)
    if not text or not text.strip().isdigit():
        return None
    pid = int(text.strip())
    return pid if await _pid_alive(host, pid) else None


async def dead_supervisord(host: Host, cfg: SupervisorAirflowConfiguration) -> int | None:
    """The pid of this job's supervisord if its pid file names a process that no longer runs, else None.

    supervisord removes its pid file when it exits normally: a pid file left over means it was killed
    (or crashed) and its programs may still run, orphaned.
    """
    text = await host.read_file(cfg.resolved_pidfile)
    if not text or not text.strip().isdigit():
        return None
    pid = int(text.strip())
    return None if await _pid_alive(host, pid) else pid


# Processes that supervisord started for this job and that outlived it: supervisord puts the job's unique
# server URL (its unix socket, which lives in working_dir) into each program's environment and makes each
# program a process group leader. A group leader carrying that URL whose parent is not a supervisord is a
# program of this job's dead supervisord. Prints "<pid> <program>" per leftover. POSIX sh, Linux /proc.
_ORPHANS_SH = r"""
marker="SUPERVISOR_SERVER_URL=$1"
for dir in /proc/[0-9]*; do
  pid=${dir#/proc/}
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
    config_path = cfg.resolved_config_path
    if await host.read_file(config_path) is None:
        raise HostCommandError(f"no supervisord config at {config_path} on {host.description}: write it first")
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


def _stop_timeout(cfg: SupervisorAirflowConfiguration) -> float:
    waits = [p.stopwaitsecs for p in cfg.effective_configuration().program.values() if p.stopwaitsecs is not None]
    return float(max(waits, default=10)) + 15.0


async def stop_supervisord(host: Host, cfg: SupervisorAirflowConfiguration, *, timeout: float | None = None) -> bool:
    """Stop supervisord (it stops its programs first); return False if it was not running.

    Sends SIGTERM and waits up to the longest ``stopwaitsecs`` plus a margin, then kills.
    """
    pid = await supervisord_pid(host, cfg)
    if pid is None:
        await _clean_after_dead_supervisord(host, cfg)
        return False
    await host.run(["kill", "-TERM", str(pid)], timeout=15)
    try:
        await _wait_for(pid, host, cfg, running=False, timeout=timeout or _stop_timeout(cfg))
    except HostCommandError:
        log.warning("supervisord (pid %d) ignored SIGTERM on %s; killing it", pid, host.description)
        await force_kill(host, cfg)
    log.info("supervisord stopped on %s", host.description)
    return True


async def force_kill(host: Host, cfg: SupervisorAirflowConfiguration) -> bool:
    """SIGKILL supervisord and the process groups of its programs; return False if it was not running."""
    pid = await supervisord_pid(host, cfg)
    if pid is None:
        await _clean_after_dead_supervisord(host, cfg)
        return False
    children = await host.run(["pgrep", "-P", str(pid)], timeout=15)
    # Each program is the leader of its own process group: kill the groups so grandchildren die too.
    for child in children.stdout.split():
        await host.run(["kill", "-KILL", "--", f"-{child}"], timeout=15)
    await host.run(["kill", "-KILL", str(pid)], timeout=15)
    await host.remove_tree(cfg.resolved_pidfile)
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
    await host.remove_tree(cfg.resolved_pidfile)


async def remove_config(host: Host, cfg: SupervisorAirflowConfiguration) -> None:
    """Remove ``working_dir`` (config, logs, socket); refuses while supervisord still runs."""
    pid = await supervisord_pid(host, cfg)
    if pid is not None:
        raise HostCommandError(
            f"supervisord still runs on {host.description} (pid {pid}); "
            f"stop it before removing {cfg.resolved_working_dir}"
        )
    await host.remove_tree(cfg.resolved_config_path)
    await host.remove_tree(cfg.resolved_working_dir)
    log.info("removed %s on %s", cfg.resolved_working_dir, host.description)
