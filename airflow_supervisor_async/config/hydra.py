"""Hydra composition of configurations (the optional ``hydra`` extra), with airflow-supervisor's loaders.

``load_config``, ``load_airflow_config`` and ``load_airflow_ssh_config`` take airflow-supervisor's
(and supervisor-pydantic's) arguments with their meaning:

- ``config_dir``: a folder of YAML files, looked for next to the calling file and then in each
  folder above it (as Hydra and airflow-config do), or an absolute path;
- ``config_name``: the file in it to start from (without ``.yaml``); its defaults list pulls in
  config groups (``- program: [sleep, echo]`` reads ``program/sleep.yaml`` and ``program/echo.yaml``),
  and ``# @package _global_`` is understood. Without it, the configuration is made of overrides only;
- ``overrides``: Hydra overrides, e.g. ``program.feed.command=...`` or ``+program=[sleep,echo]``
  (``+group=option`` adds a config group).

The composed document is read like a YAML file (``_target_`` keys of this package, of
``airflow_supervisor`` and of ``supervisor_pydantic`` name our models; airflow-config documents give
their supervisor extension; airflow-supervisor's top-level keys are moved with a warning).
"""

from __future__ import annotations

import re
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from .errors import ConfigurationError

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import FrameType

    from pydantic import BaseModel

    from .airflow import SupervisorAirflowConfiguration, SupervisorSSHAirflowConfiguration
    from .supervisor import SupervisorConfiguration

__all__ = (
    "HYDRA_MISSING",
    "compose_document",
    "find_config_dir",
    "load_airflow_config",
    "load_airflow_ssh_config",
    "load_config",
    "load_convenience_config",
    "load_hydra",
)

M = TypeVar("M", bound="BaseModel")

HYDRA_MISSING = (
    "composing configurations with Hydra needs hydra-core, installed by the `hydra` extra: "
    'pip install "airflow-supervisor-async[hydra]"'
)
_PACKAGE = Path(__file__).resolve().parent.parent


def _calling_file() -> Path | None:
    """The source file of the nearest caller outside this package (None from a prompt or ``python -c``)."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        name = frame.f_code.co_filename
        if not name.startswith("<") and not Path(name).resolve().is_relative_to(_PACKAGE):
            return Path(name).resolve()
        frame = frame.f_back
    return None


def _has_config(folder: Path, config_name: str) -> bool:
    if not config_name:
        return folder.is_dir()
    return (folder / f"{config_name}.yaml").is_file() or (folder / f"{config_name}.yml").is_file()


def find_config_dir(config_dir: str | Path = "config", config_name: str = "", *, basepath: str | Path = "") -> Path:
    """The folder ``config_dir`` (holding ``config_name``.yaml, if given), absolute.

    A relative ``config_dir`` is looked for in the folder of ``basepath`` (a file or folder; default:
    the calling file, or the working directory from a prompt) and then in each folder above it.
    """
    config_name = config_name.removesuffix(".yaml").removesuffix(".yml")
    if basepath:
        start = Path(basepath).resolve()
        start = start.parent if start.suffix in (".py", ".yaml", ".yml", ".cfg") or start.is_file() else start
    else:
        caller = _calling_file()
        start = caller.parent if caller is not None else Path.cwd()
    for folder in (start, *start.parents):
        candidate = folder / config_dir
        if _has_config(candidate, config_name):
            return candidate.resolve()
        if candidate.is_absolute() and Path(config_dir).is_absolute():
            break  # an absolute config_dir is the same candidate everywhere
    holding = f" holding {config_name}.yaml" if config_name else ""
    where = str(config_dir) if Path(config_dir).is_absolute() else f"{start} or any folder above it"
    raise ConfigurationError([("config_dir", f"no folder {str(config_dir)!r}{holding} in {where}")])


def _quote(path: Path) -> str:
    # a quoted value of Hydra's override grammar: backslashes and quotes escaped
    return "'" + str(path).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _hydra_message(exc: Exception) -> str:
    """Hydra's message on one line, without its search-path listing."""
    text = str(exc).split("Config search path:")[0]
    text = re.sub(r"^In '_dummy_empty_config_': ", "", text.strip())
    text = re.sub(r":\s*\n\s*", ": ", text)  # "Available options in 'program':\n\techo" -> "...: echo"
    return re.sub(r"\s*\n\s*", ", ", text)


def compose_document(
    config_dir: str | Path = "config",
    config_name: str = "",
    overrides: Sequence[str] | None = None,
    *,
    basepath: str | Path = "",
) -> tuple[dict[str, object], str]:
    """Compose with Hydra; return the document (plain containers, interpolations resolved) and its description.

    Raises ``ImportError`` naming the extra when hydra-core is missing, and ``ConfigurationError``
    when the folder, a config group or an override is wrong.
    """
    try:
        from hydra import compose, initialize_config_dir
        from hydra.errors import HydraException
        from omegaconf import OmegaConf
        from omegaconf.errors import OmegaConfBaseException
    except ImportError as exc:
        raise ImportError(HYDRA_MISSING) from exc
    import yaml

    name = config_name.removesuffix(".yaml").removesuffix(".yml")
    folder = find_config_dir(config_dir, name, basepath=basepath)
    where = str(folder / f"{name}.yaml") if name else str(folder)
    if isinstance(overrides, str):
        raise ConfigurationError([("overrides", f"expected a list of overrides, got the text {overrides!r}")], where)
    try:
        with warnings.catch_warnings():
            # Hydra's own deprecation notices (omegaconf 2.4 resolvers, `_self_` order) say nothing to our users
            for category in (UserWarning, FutureWarning):
                warnings.filterwarnings("ignore", category=category, module=r"hydra\.")
            # initialize_config_dir saves and restores any Hydra app already running in this process
            with initialize_config_dir(config_dir=str(folder), version_base=None):
                composed = compose(config_name=name or None, overrides=list(overrides or ()))
        data = OmegaConf.to_container(composed, resolve=True)
    except (HydraException, OmegaConfBaseException, yaml.YAMLError) as exc:
        raise ConfigurationError([("(hydra)", _hydra_message(exc))], source=where) from exc
    if not isinstance(data, dict):
        raise ConfigurationError([("(top level)", f"expected a mapping, got {type(data).__name__}")], source=where)
    return {str(k): v for k, v in data.items()}, where


def load_hydra(
    cls: type[M],
    config_dir: str | Path = "config",
    config_name: str = "",
    overrides: Sequence[str] | None = None,
    *,
    basepath: str | Path = "",
    key: str | None = None,
) -> M:
    """Compose with Hydra (see the module); validate into ``cls``, or the subclass the ``_target_`` names."""
    from .loading import validate_document

    data, where = compose_document(config_dir, config_name, overrides, basepath=basepath)
    return validate_document(cls, data, where, key=key)


def load_config(
    config_dir: str | Path = "config",
    config_name: str = "",
    overrides: Sequence[str] | None = None,
    *,
    basepath: str | Path = "",
) -> SupervisorConfiguration:
    """supervisor-pydantic's loader: a plain supervisord configuration composed with Hydra.

    A document whose ``_target_`` names a job class (``SupervisorAirflowConfiguration``, ...) gives that class.
    """
    from .supervisor import SupervisorConfiguration

    return load_hydra(SupervisorConfiguration, config_dir, config_name, overrides, basepath=basepath)


def load_airflow_config(
    config_dir: str | Path = "config",
    config_name: str = "",
    overrides: Sequence[str] | None = None,
    *,
    basepath: str | Path = "",
) -> SupervisorAirflowConfiguration:
    """airflow-supervisor's loader: a job composed with Hydra (an SSH job if the document's ``_target_`` says so)."""
    from .airflow import SupervisorAirflowConfiguration

    return load_hydra(SupervisorAirflowConfiguration, config_dir, config_name, overrides, basepath=basepath)


def load_airflow_ssh_config(
    config_dir: str | Path = "config",
    config_name: str = "",
    overrides: Sequence[str] | None = None,
    *,
    basepath: str | Path = "",
) -> SupervisorSSHAirflowConfiguration:
    """airflow-supervisor's loader of a job on another host (SSH), composed with Hydra."""
    from .airflow import SupervisorSSHAirflowConfiguration

    return load_hydra(SupervisorSSHAirflowConfiguration, config_dir, config_name, overrides, basepath=basepath)


#: supervisor-pydantic's name: its SupervisorConvenienceConfiguration is SupervisorAirflowConfiguration here.
load_convenience_config = load_airflow_config
