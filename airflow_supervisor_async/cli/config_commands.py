"""``render`` and ``validate``: work on a configuration file without Airflow or a running supervisord."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..config.errors import ConfigurationError
from ..config.files import atomic_write_text

if TYPE_CHECKING:
    import argparse

    from ..config import SupervisorAirflowConfiguration

__all__ = ("load_from_args", "register")


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments every command that reads a configuration file takes."""
    parser.add_argument("config", type=Path, help="YAML configuration file")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a value, e.g. --set program.feed.command='python feed.py' (repeatable)",
    )
    parser.add_argument("--key", default=None, help="extension to use in an airflow-config file with several")


def load_from_args(args: argparse.Namespace) -> SupervisorAirflowConfiguration:
    """Load the configuration named on the command line (raises ``ConfigurationError``).

    Without a DAG to name it, a job without ``job`` is named after the config file (see ``job_name_for_file``).
    """
    from ..config import SupervisorAirflowConfiguration
    from ..config.airflow import job_name_for_file

    cfg = SupervisorAirflowConfiguration.load(args.config, args.overrides, key=args.key)
    return cfg if cfg.job is not None else cfg.with_job(job_name_for_file(args.config))


def _render(args: argparse.Namespace) -> int:
    cfg = load_from_args(args)
    text = cfg.to_conf()
    if args.output is None:
        sys.stdout.write(text)
        return 0
    try:
        atomic_write_text(args.output, text, mode=cfg.config_file_mode())
    except OSError as exc:
        problem = f"cannot write there ({exc.strerror or exc}); choose a writable path"
        raise ConfigurationError([(str(args.output), problem)], source="render -o") from None
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


def _validate(args: argparse.Namespace) -> int:
    cfg = load_from_args(args)
    cfg.to_conf()
    kind = "remote (SSH)" if cfg.xmlrpc_endpoint().ssh else "local"
    print(f"{args.config}: valid {kind} configuration with {len(cfg.program)} program(s): {', '.join(cfg.program)}")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``render`` and ``validate``."""
    render = subparsers.add_parser("render", help="print (or write) the supervisord.conf a configuration renders")
    add_config_arguments(render)
    render.add_argument("-o", "--output", type=Path, default=None, help="write to this file (atomically) instead")
    render.set_defaults(handler=_render)

    validate = subparsers.add_parser("validate", help="check a configuration; exit 0 if valid, 1 with the errors")
    add_config_arguments(validate)
    validate.set_defaults(handler=_validate)
