"""``status``, ``watch``, ``start``/``stop``/``restart``, ``up``/``down``: a job's supervisord from the shell.

Remote (SSH) configurations work the same way: commands and files go over SSH, XML-RPC through the
SSH connection. Exit codes: 0 fine, 1 a program in a bad state or bad input, 2 supervisord (or the
host) unreachable. Airflow is imported only to read a connection (``airflow.xmlrpc_conn_id``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import sys
import time
import warnings
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from ..client import SupervisorClient, SupervisorError
from ..config import ConfigurationError
from ..hooks.ssh import run_in_new_loop
from ..host import HostCommandError, lifecycle, make_host
from ..status import control_programs, program_specs, read_status
from .config_commands import add_config_arguments, load_from_args

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from ..config import SupervisorAirflowConfiguration
    from ..status import Action

__all__ = ("register",)

Row = dict[str, Any]


@contextlib.contextmanager
def _airflow_kept_quiet() -> Iterator[None]:
    """Keep importing Airflow from taking over the output: it logs to stdout and shows deprecation warnings."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    with warnings.catch_warnings(), contextlib.redirect_stdout(sys.stderr):
        try:
            yield
        finally:
            root.handlers[:] = handlers
            root.setLevel(level)


def _credentials(cfg: SupervisorAirflowConfiguration, conn_id: str) -> tuple[str | None, SecretStr | None]:
    """XML-RPC username and password from Airflow connection ``conn_id`` (raises ``ConfigurationError``)."""
    where = "airflow.xmlrpc_conn_id"
    with _airflow_kept_quiet():
        try:
            from ..hooks.supervisor import SupervisorHook
            from ..version_compat import AirflowNotFoundException
        except ImportError:
            raise ConfigurationError([(where, f"reading connection {conn_id!r} needs apache-airflow")]) from None
        try:
            endpoint = SupervisorHook(cfg.xmlrpc_endpoint()).resolve()
        except AirflowNotFoundException as exc:
            raise ConfigurationError([(where, str(exc))]) from None
    password = endpoint.password  # the hook copies the connection's password in without validation
    return endpoint.username, SecretStr(password) if isinstance(password, str) else password


def _load(args: argparse.Namespace) -> SupervisorAirflowConfiguration:
    """The configuration, with XML-RPC credentials read from ``airflow.xmlrpc_conn_id`` if it is set."""
    cfg = load_from_args(args)
    if cfg.airflow.xmlrpc_conn_id is None:
        return cfg
    username, password = _credentials(cfg, cfg.airflow.xmlrpc_conn_id)
    airflow = cfg.airflow.model_copy(update={"username": username, "password": password})
    return cfg.model_copy(update={"airflow": airflow})


async def _rows(cfg: SupervisorAirflowConfiguration, client: SupervisorClient) -> list[Row]:
    """The programs' status rows as plain dicts (the ``--json`` output), read live."""
    return [row.model_dump() for row in await read_status(client, program_specs(cfg))]


def _table(rows: list[Row]) -> str:
    """The rows as a fixed-width table; bad rows are marked."""
    lines = [f"{'PROGRAM':<24} {'STATE':<9} {'PID':>7}  {'UPTIME/EXIT':<12} DESCRIPTION"]
    for row in rows:
        if row["uptime"] is not None:
            extra = str(timedelta(seconds=row["uptime"]))
        else:
            extra = f"exit {row['exitstatus']}" if row["exitstatus"] is not None else "-"
        mark = "" if row["ok"] else "  <-- bad"
        pid = row["pid"] or "-"
        lines.append(f"{row['name']:<24} {row['state']:<9} {pid:>7}  {extra:<12} {row['description']}{mark}")
    return "\n".join(lines)


def _guard(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Turn configuration, supervisord and host errors into one-line messages and exit codes (1, 2)."""

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


# -- status / watch --------------------------------------------------------------------------------------


def _status(args: argparse.Namespace) -> int:
    """Print the programs' states; 0 if all are good, 1 if any is bad (2 via ``_guard``: unreachable)."""
    cfg = _load(args)

    async def snapshot() -> list[Row]:
        async with SupervisorClient.from_config(cfg) as client:
            return await _rows(cfg, client)

    rows = run_in_new_loop(snapshot)
    print(json.dumps(rows, indent=2) if args.json else _table(rows))
    return 0 if all(row["ok"] for row in rows) else 1


async def _watch_loop(cfg: SupervisorAirflowConfiguration, interval: float, count: int | None) -> None:
    """Print a block per refresh through one client (one SSH connection for remote configurations)."""
    tty, where = sys.stdout.isatty(), cfg.xmlrpc_endpoint().describe()
    shown = 0
    async with SupervisorClient.from_config(cfg) as client:
        while count is None or shown < count:
            try:
                body = _table(await _rows(cfg, client))
            except SupervisorError as exc:
                body = f"supervisord unreachable: {exc}"
            header = f"{time.strftime('%H:%M:%S')}  {where}  (every {interval:g} s, Ctrl-C to quit)"
            print(("\x1b[H\x1b[2J" if tty else "") + header + "\n" + body + ("" if tty else "\n"), flush=True)
            shown += 1
            if count is None or shown < count:
                await asyncio.sleep(interval)


def _watch(args: argparse.Namespace) -> int:
    """Redraw the status every interval until Ctrl-C or ``--count`` refreshes; always exit 0."""
    cfg = _load(args)
    interval = args.interval if args.interval is not None else cfg.check_interval.total_seconds()
    with contextlib.suppress(KeyboardInterrupt):
        run_in_new_loop(lambda: _watch_loop(cfg, interval, args.count))
    return 0


# -- start / stop / restart --------------------------------------------------------------------------------


async def _act(cfg: SupervisorAirflowConfiguration, action: Action, names: list[str]) -> tuple[list[str], bool]:
    """Stop and/or start every process of ``names``; return report lines and whether all went well."""
    async with SupervisorClient.from_config(cfg) as client:
        return await control_programs(client, action, program_specs(cfg), names)


def _control(args: argparse.Namespace) -> int:
    """``start``/``stop``/``restart`` the named programs (default all); unknown names change nothing."""
    cfg = _load(args)
    names = list(dict.fromkeys(args.programs)) or list(cfg.program)
    unknown = [name for name in names if name not in cfg.program]
    if unknown:
        known = ", ".join(cfg.program)
        print(f"unknown program(s) {', '.join(unknown)}; the configuration has {known}", file=sys.stderr)
        return 1
    report, ok = run_in_new_loop(lambda: _act(cfg, args.command, names))
    print("\n".join(report))
    return 0 if ok else 1


# -- up / down ------------------------------------------------------------------------------------------------


def _up(args: argparse.Namespace) -> int:
    """Write the config and start supervisord unless it runs; print both steps."""
    cfg = _load(args)

    async def up() -> str:
        host = make_host(cfg)
        try:
            path = await lifecycle.write_config(host, cfg)
            before = await lifecycle.supervisord_pid(host, cfg)
            pid = await lifecycle.start_supervisord(host, cfg)
        finally:
            await host.close()
        if before is not None:
            return f"wrote {path} on {host.description}; supervisord already running (pid {pid}), not reloaded"
        return f"wrote {path} on {host.description}; supervisord running (pid {pid})"

    print(run_in_new_loop(up))
    return 0


def _down(args: argparse.Namespace) -> int:
    """Stop supervisord (and so its programs); with ``--remove`` also remove the config and working_dir."""
    cfg = _load(args)

    async def down() -> str:
        host = make_host(cfg)
        try:
            stopped = await lifecycle.stop_supervisord(host, cfg)
            if args.remove:
                await lifecycle.remove_config(host, cfg)
        finally:
            await host.close()
        done = f"supervisord stopped on {host.description}" if stopped else "supervisord was not running"
        return done + (f"; removed {cfg.resolved_working_dir}" if args.remove else "")

    print(run_in_new_loop(down))
    return 0


def _positive(cast: Callable[[str], float]) -> Callable[[str], Any]:
    """An argparse ``type`` accepting only numbers above zero."""

    def parse(text: str) -> float:
        try:
            value = cast(text)
        except ValueError:
            value = 0
        if value <= 0:
            raise argparse.ArgumentTypeError(f"expected a number above 0, got {text!r}")
        return value

    return parse


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``status``, ``watch``, ``start``, ``stop``, ``restart``, ``up`` and ``down``."""
    status = subparsers.add_parser("status", help="table of the programs; exit 1 if any is in a bad state")
    add_config_arguments(status)
    status.add_argument("--json", action="store_true", help="print JSON instead of a table")
    status.set_defaults(handler=_guard(_status))

    watch = subparsers.add_parser("watch", help="live view of the programs until Ctrl-C")
    add_config_arguments(watch)
    every = "seconds between refreshes (default: check_interval)"
    watch.add_argument("--interval", type=_positive(float), default=None, metavar="SECONDS", help=every)
    watch.add_argument("--count", type=_positive(int), default=None, metavar="N", help="stop after N refreshes")
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
