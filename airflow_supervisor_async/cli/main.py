"""Entry point of the ``airflow-supervisor-async`` command: one module per group of subcommands.

Exit codes of every command: 0 fine; 1 bad input (configuration, paths, program names) or a program in a
bad state; 2 supervisord or its host unreachable (or a command on the host failed); 130 interrupted
(Ctrl-C). Errors are one line each on stderr, naming the field or path and what to do; no tracebacks
(``-v`` logs details). Modules are imported by the command that needs them, so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import logging
import sys
from importlib import import_module

__all__ = ("build_parser", "main")

# Modules that each expose ``register(subparsers) -> None``; a missing optional one is skipped.
_COMMAND_MODULES = ("config_commands", "control", "demo")

EXIT_OK, EXIT_INVALID, EXIT_UNREACHABLE, EXIT_INTERRUPTED = 0, 1, 2, 130


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every available subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="airflow-supervisor-async",
        description="Run programs under supervisord and drive them from Apache Airflow.",
        epilog="exit codes: 0 fine, 1 bad input or a program in a bad state, 2 supervisord or its host "
        "unreachable, 130 interrupted",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in _COMMAND_MODULES:
        try:
            module = import_module(f"{__package__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__package__}.{name}":
                raise
            continue
        module.register(subparsers)
    return parser


def _say(message: str) -> None:
    print(message, file=sys.stderr)


def _run(args: argparse.Namespace) -> int:
    """Run the command; user mistakes and unreachable hosts become one-line messages and exit codes."""
    from ..config.errors import ConfigurationError
    from ..errors import SupervisorConnectionError, SupervisorError, SupervisorSSHError
    from ..host.base import HostCommandError
    from ..host.safety import UnsafePathError

    try:
        return int(args.handler(args) or 0)
    except ConfigurationError as exc:
        where = exc.source or getattr(args, "config", None) or "configuration"
        for path, message in exc.problems:
            _say(f"{where}: {path}: {message}")
        return EXIT_INVALID
    except SupervisorError as exc:
        hint = ""
        if isinstance(exc, SupervisorConnectionError) and not isinstance(exc, SupervisorSSHError):
            hint = f"; is supervisord running? try `airflow-supervisor-async up {getattr(args, 'config', 'CONFIG')}`"
        _say(f"error: {exc}{hint}")
        return EXIT_UNREACHABLE
    except UnsafePathError as exc:  # a path the job must not use: the user's to fix (nothing was changed)
        _say(f"{getattr(args, 'config', None) or 'error'}: {exc}")
        return EXIT_INVALID
    except HostCommandError as exc:
        _say(f"error: {exc}")
        return EXIT_UNREACHABLE
    except OSError as exc:  # a local path the command was given or derived cannot be used
        what = f"{exc.filename}: " if exc.filename else ""
        _say(f"error: {what}{exc.strerror or exc}; check the path and its permissions")
        return EXIT_INVALID


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    try:
        args = build_parser().parse_args(argv)
        logging.basicConfig(
            level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s: %(message)s"
        )
        return _run(args)
    except KeyboardInterrupt:
        _say("interrupted")
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
