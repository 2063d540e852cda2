"""``status``, ``watch``, ``start``/``stop``/``restart``, ``up``/``down``: a job's supervisord from the shell.

Remote (SSH) configurations work the same way: commands and files go over SSH, XML-RPC through the
SSH connection. Exit codes (``cli.main``): 0 fine, 1 a program in a bad state or bad input, 2 supervisord
(or the host) unreachable. The client, SSH and host modules are imported when a command runs; Airflow
only to read a connection (``airflow.xmlrpc_conn_id``).
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
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config.errors import ConfigurationError
from .config_commands import add_config_arguments, load_from_args

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator

    from pydantic import SecretStr

    from ..client import SupervisorClient
    from ..config import SupervisorAirflowConfiguration
    from ..status import Action

__all__ = ("register",)

Row = dict[str, Any]


def _run_async(factory: Callable[[], Awaitable[Any]]) -> Any:
    """Run a coroutine on a fresh event loop whose SSH pool also reads Airflow SSH connections (``ssh_conn_id``)."""
    from ..hooks.ssh import run_in_new_loop

    return run_in_new_loop(factory)


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
    from pydantic import SecretStr

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
    from ..status import program_specs, read_status

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


# -- status / watch --------------------------------------------------------------------------------------


def _status(args: argparse.Namespace) -> int:
    """Print the programs' states; 0 if all are good, 1 if any is bad (2 via ``_guard``: unreachable)."""
    from ..client import SupervisorClient

    cfg = _load(args)

    async def snapshot() -> list[Row]:
        async with SupervisorClient.from_config(cfg) as client:
            return await _rows(cfg, client)

    rows = _run_async(snapshot)
    print(json.dumps(rows, indent=2) if args.json else _table(rows))
    return 0 if all(row["ok"] for row in rows) else 1


async def _watch_loop(cfg: SupervisorAirflowConfiguration, interval: float, count: int | None) -> None:
    """Print a block per refresh through one client (one SSH connection for remote configurations)."""
    from ..client import SupervisorClient, SupervisorError

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
        _run_async(lambda: _watch_loop(cfg, interval, args.count))
    return 0


# -- start / stop / restart --------------------------------------------------------------------------------


async def _act(cfg: SupervisorAirflowConfiguration, action: Action, names: list[str]) -> tuple[list[str], bool]:
    """Stop and/or start every process of ``names``; return report lines and whether all went well."""
    from ..client import SupervisorClient
    from ..status import control_programs, program_specs

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
    report, ok = _run_async(lambda: _act(cfg, args.command, names))
    print("\n".join(report))
    return 0 if ok else 1


# -- up / down ------------------------------------------------------------------------------------------------


def _write_config_or_explain(cfg: SupervisorAirflowConfiguration) -> Callable[[Any], Awaitable[Any]]:
    """``lifecycle.write_config`` with local path errors reported as a problem of ``working_dir``."""
    from ..host import lifecycle

    async def write(host: Any) -> Any:
        try:
            return await lifecycle.write_config(host, cfg)
        except OSError as exc:
            if isinstance(exc, ConnectionError):
                raise
            reason = "not a directory" if isinstance(exc, FileExistsError | NotADirectoryError) else exc.strerror
            problem = (
                f"{cfg.resolved_working_dir} cannot be used ({exc.filename}: {reason or exc}); "
                "set working_dir to a directory you can create and write"
            )
            raise ConfigurationError([("working_dir", problem)]) from None

    return write


async def _up_on_host(cfg: SupervisorAirflowConfiguration, start: bool) -> tuple[list[str], bool]:
    """Write the config, start supervisord (or apply the new config to the running one), start the programs."""
    from ..client import SupervisorClient
    from ..host import lifecycle, make_host
    from ..status import apply_config_changes, control_programs, program_specs

    host = make_host(cfg)
    try:
        path = await _write_config_or_explain(cfg)(host)
        before = await lifecycle.supervisord_pid(host, cfg)
        pid = await lifecycle.start_supervisord(host, cfg)
    finally:
        await host.close()
    lines = [f"wrote {path} on {host.description}"]
    specs = program_specs(cfg)
    async with SupervisorClient.from_config(cfg) as client:
        if before is None:
            lines.append(f"supervisord started (pid {pid})")
        else:
            changes = await apply_config_changes(client, specs)
            done = "; ".join(changes) if changes else "configuration unchanged"
            lines.append(f"supervisord already running (pid {pid}), reloaded: {done}")
        if not start:
            lines.append("programs not started (--no-start); start them with `airflow-supervisor-async start CONFIG`")
            return lines, True
        report, ok = await control_programs(client, "start", specs, list(cfg.program))
    return lines + report, ok


def _up(args: argparse.Namespace) -> int:
    """Write the config, start supervisord (reload it when it runs), start the programs; print each step."""
    cfg = _load(args)
    lines, ok = _run_async(lambda: _up_on_host(cfg, start=not args.no_start))
    print("\n".join(lines))
    return 0 if ok else 1


def _down(args: argparse.Namespace) -> int:
    """Stop supervisord (and so its programs); with ``--remove`` also remove what the job created (as its
    manifest lists it). A refused removal deletes nothing and exits 1."""
    from ..host import UnsafePathError, lifecycle, make_host

    cfg = _load(args)

    async def down() -> str:
        host = make_host(cfg)
        try:
            stopped = await lifecycle.stop_supervisord(host, cfg)
            cleanup = await lifecycle.remove_config(host, cfg) if args.remove else None
        finally:
            await host.close()
        done = f"supervisord stopped on {host.description}" if stopped else "supervisord was not running"
        if cleanup is not None:
            wd = cfg.resolved_working_dir
            removed = [p for p in cleanup.removed if wd not in Path(p).parents]  # the folder stands for its content
            done += f"; removed {', '.join(removed) or 'nothing'}"
            done += f"; kept {', '.join(cleanup.kept)} (not created by the job)" if cleanup.kept else ""
        return done

    try:
        print(_run_async(down))
    except UnsafePathError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
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
    status.set_defaults(handler=_status)

    watch = subparsers.add_parser("watch", help="live view of the programs until Ctrl-C")
    add_config_arguments(watch)
    every = "seconds between refreshes (default: check_interval)"
    watch.add_argument("--interval", type=_positive(float), default=None, metavar="SECONDS", help=every)
    watch.add_argument("--count", type=_positive(int), default=None, metavar="N", help="stop after N refreshes")
    watch.set_defaults(handler=_watch)

    for action in ("start", "stop", "restart"):
        parser = subparsers.add_parser(action, help=f"{action} programs (all of the configuration by default)")
        add_config_arguments(parser)
        parser.add_argument("programs", nargs="*", metavar="PROGRAM", help="program names (default: all)")
        parser.set_defaults(handler=_control)

    up = subparsers.add_parser(
        "up",
        help="write the config, start supervisord (or reload it: new, changed and removed programs are applied) "
        "and start the programs; over SSH for remote configs",
    )
    add_config_arguments(up)
    up.add_argument("--no-start", action="store_true", help="start supervisord but not the programs")
    up.set_defaults(handler=_up)

    down = subparsers.add_parser("down", help="stop supervisord and its programs")
    add_config_arguments(down)
    down.add_argument("--remove", action="store_true", help="also remove the config and working_dir")
    down.set_defaults(handler=_down)
