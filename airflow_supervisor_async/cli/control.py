"""``status``, ``watch``, ``start``/``stop``/``restart``, ``up``/``down``: a job's supervisord from the shell.

Remote (SSH) configurations work the same way: commands and files go over SSH, XML-RPC through the
SSH connection. Exit codes: 0 fine, 1 a program in a bad state or bad input, 2 supervisord unreachable.
"""

from __future__ import annotations

import json
import sys
import time
from typing import TYPE_CHECKING, Any, TypeVar

from ..client import SupervisorClient, SupervisorError, SupervisorFault
from ..client.errors import Faults
from ..client.ssh_pool import run_in_new_loop
from ..config import ConfigurationError
from ..host import HostCommandError, lifecycle, make_host
from ..triggers.outcome import judge
from .config_commands import add_config_arguments, load_from_args

if TYPE_CHECKING:
    import argparse
    from collections.abc import Awaitable, Callable

    from ..client import ProcessInfo
    from ..config import SupervisorAirflowConfiguration

__all__ = ("register",)

T = TypeVar("T")
_GOOD = frozenset({"RUNNING", "STARTING"})


def _exitcodes(cfg: SupervisorAirflowConfiguration) -> dict[str, list[int]]:
    return {name: list(p.exitcodes or [0]) for name, p in cfg.effective_configuration().program.items()}


def _rows(cfg: SupervisorAirflowConfiguration, infos: list[ProcessInfo]) -> list[dict[str, Any]]:
    codes = _exitcodes(cfg)
    rows = []
    for info in sorted((i for i in infos if i.group in cfg.program), key=lambda i: i.full_name):
        exited_ok = info.statename == "EXITED" and info.exitstatus in codes[info.group]
        rows.append({
            "name": info.name if info.name == info.group else info.full_name,
            "state": info.statename,
            "pid": info.pid or None,
            "exitstatus": info.exitstatus if info.statename == "EXITED" else None,
            "uptime": info.uptime if info.statename == "RUNNING" else None,
            "description": info.description,
            "ok": info.statename in _GOOD or exited_ok,
        })  # fmt: skip
    seen = {i.group for i in infos}
    rows += [
        {
            "name": n,
            "state": "MISSING",
            "pid": None,
            "exitstatus": None,
            "uptime": None,
            "description": "not in supervisord's configuration",
            "ok": False,
        }
        for n in cfg.program
        if n not in seen
    ]
    return rows


def _table(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'PROGRAM':<24} {'STATE':<9} {'PID':>7}  {'UPTIME/EXIT':<12} DESCRIPTION"]
    for row in rows:
        extra = f"{row['uptime']}s" if row["uptime"] is not None else (
            f"exit {row['exitstatus']}" if row["exitstatus"] is not None else "-")  # fmt: skip
        mark = "" if row["ok"] else "  <-- bad"
        lines.append(
            f"{row['name']:<24} {row['state']:<9} {row['pid'] or '-':>7}  {extra:<12} {row['description']}" + mark
        )
    return "\n".join(lines)


async def _snapshot(cfg: SupervisorAirflowConfiguration) -> list[dict[str, Any]]:
    async with SupervisorClient.from_config(cfg) as client:
        return _rows(cfg, await client.get_all_process_info())


def _guard(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Turn configuration and supervisord errors into one-line messages and exit codes."""

    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except ConfigurationError as exc:
            print(exc, file=sys.stderr)
            return 1
        except (SupervisorError, HostCommandError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2

    return run


def _status(args: argparse.Namespace) -> int:
    cfg = load_from_args(args)
    rows = run_in_new_loop(lambda: _snapshot(cfg))
    print(json.dumps(rows, indent=2) if args.json else _table(rows))
    return 0 if all(row["ok"] for row in rows) else 1


def _watch(args: argparse.Namespace) -> int:
    cfg = load_from_args(args)
    interval = args.interval if args.interval is not None else cfg.check_interval.total_seconds()
    tty, shown = sys.stdout.isatty(), 0
    try:
        while args.count is None or shown < args.count:
            try:
                body = _table(run_in_new_loop(lambda: _snapshot(cfg)))
            except SupervisorError as exc:
                body = f"supervisord unreachable: {exc}"
            header = f"{time.strftime('%H:%M:%S')}  {cfg.xmlrpc_endpoint().describe()}  (every {interval:g} s)"
            print(("\x1b[H\x1b[2J" if tty else "") + header + "\n" + body + ("" if tty else "\n"), flush=True)
            shown += 1
            if args.count is None or shown < args.count:
                time.sleep(interval)
    except KeyboardInterrupt:
        pass
    return 0


async def _act(cfg: SupervisorAirflowConfiguration, action: str, names: list[str]) -> list[str]:
    report = []
    async with SupervisorClient.from_config(cfg) as client:
        infos = [i for i in await client.get_all_process_info() if i.group in names]
        for info in sorted(infos, key=lambda i: i.full_name):
            full = info.name if info.name == info.group else info.full_name
            if action in ("stop", "restart"):
                report.append(f"{full}: {await _call(client.stop_process, full, Faults.NOT_RUNNING, 'stopped')}")
            if action in ("start", "restart"):
                report.append(f"{full}: {await _call(client.start_process, full, Faults.ALREADY_STARTED, 'started')}")
        verdict = judge(await client.get_all_process_info(), names, _exitcodes(cfg))
    if action != "stop" and verdict.failed:
        report.append(f"failed: {', '.join(verdict.failed)}")
    return report


async def _call(method: Callable[..., Awaitable[bool]], name: str, benign: int, done: str) -> str:
    try:
        await method(name, wait=True)
    except SupervisorFault as exc:
        if exc.code != benign:
            raise
        return "already " + ("running" if done == "started" else "stopped")
    return done


def _control(args: argparse.Namespace) -> int:
    cfg = load_from_args(args)
    names = args.programs or list(cfg.program)
    unknown = sorted(set(names) - set(cfg.program))
    if unknown:
        print(
            f"unknown program(s) {', '.join(unknown)}; the configuration has {', '.join(cfg.program)}", file=sys.stderr
        )
        return 1
    report = run_in_new_loop(lambda: _act(cfg, args.command, names))
    print("\n".join(report))
    return 1 if any(line.startswith("failed:") for line in report) else 0


def _up(args: argparse.Namespace) -> int:
    cfg = load_from_args(args)

    async def up() -> str:
        host = make_host(cfg)
        try:
            path = await lifecycle.write_config(host, cfg)
            pid = await lifecycle.start_supervisord(host, cfg)
        finally:
            await host.close()
        return f"wrote {path} on {host.description}; supervisord running (pid {pid})"

    print(run_in_new_loop(up))
    return 0


def _down(args: argparse.Namespace) -> int:
    cfg = load_from_args(args)

    async def down() -> str:
        host = make_host(cfg)
        try:
            stopped = await lifecycle.stop_supervisord(host, cfg)
            if args.remove:
                await lifecycle.remove_config(host, cfg)
        finally:
            await host.close()
        done = "supervisord stopped" if stopped else "supervisord was not running"
        return done + (f"; removed {cfg.resolved_working_dir}" if args.remove else "")

    print(run_in_new_loop(down))
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the control commands."""
    status = subparsers.add_parser("status", help="table of the programs; exit 1 if any is in a bad state")
    add_config_arguments(status)
    status.add_argument("--json", action="store_true", help="print JSON instead of a table")
    status.set_defaults(handler=_guard(_status))

    watch = subparsers.add_parser("watch", help="live view of the programs until interrupted")
    add_config_arguments(watch)
    watch.add_argument("--interval", type=float, default=None, help="seconds between refreshes (check_interval)")
    watch.add_argument("--count", type=int, default=None, help="stop after this many refreshes")
    watch.set_defaults(handler=_guard(_watch))

    for action in ("start", "stop", "restart"):
        parser = subparsers.add_parser(action, help=f"{action} programs (all of the configuration by default)")
        add_config_arguments(parser)
        parser.add_argument("programs", nargs="*", metavar="PROGRAM", help="program names (default: all)")
        parser.set_defaults(handler=_guard(_control))

    up = subparsers.add_parser("up", help="write the config and start supervisord (over SSH for remote configs)")
    add_config_arguments(up)
    up.set_defaults(handler=_guard(_up))

    down = subparsers.add_parser("down", help="stop supervisord and its programs")
    add_config_arguments(down)
    down.add_argument("--remove", action="store_true", help="also remove the config and working_dir")
    down.set_defaults(handler=_guard(_down))
