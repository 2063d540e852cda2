"""Load configurations from YAML with OmegaConf: interpolation, dotlist overrides, airflow-config files.

``validate_document`` turns a loaded document into a model; Hydra composition (``hydra``) uses it too.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import ValidationError

from .errors import ConfigurationError, format_validation_error

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pydantic import BaseModel

    from .airflow import SupervisorAirflowConfiguration

__all__ = ("coerce_job", "load_configuration", "read_source", "validate_document")

M = TypeVar("M", bound="BaseModel")

# `_target_` modules we understand: this package and the library it grew from.
_TARGET_PACKAGES = ("airflow_supervisor_async", "airflow_supervisor", "supervisor_pydantic")
_AIRFLOW_CONFIG_TARGETS = ("airflow_config.Configuration",)
# keys only a remote (SSH) job has: a document with one of them and no `_target_` is read as one
_SSH_KEYS = frozenset({"ssh", "ssh_operator_args", "command_prefix"})


def read_source(source: str | Path) -> tuple[str, str]:
    """Return ``(yaml_text, description)`` for a file path or literal YAML text."""
    if isinstance(source, Path) or ("\n" not in source and source.endswith((".yaml", ".yml", ".json"))):
        path = Path(source)
        if not path.is_file():
            raise ConfigurationError([("(file)", f"no such configuration file: {path}")], source=str(path))
        return path.read_text(encoding="utf-8"), str(path)
    return source, "YAML text"


def _target_class(target: str) -> str | None:
    """Our class name for a supported ``_target_`` (``airflow_supervisor.X`` names map to ours), else None."""
    from .legacy import seed_name

    module, _, name = target.rpartition(".")
    root = module.split(".")[0]
    if root == "airflow_supervisor_async":
        return name
    if root in _TARGET_PACKAGES:
        ours = seed_name(name)
        return ours[1] if ours is not None else name
    return None


@functools.cache
def _known_classes() -> dict[str, type[BaseModel]]:
    from . import airflow, sections, ssh, supervisor

    found: dict[str, type[BaseModel]] = {}
    for module in (sections, supervisor, airflow, ssh):
        for name in getattr(module, "__all__", ()):
            found[name] = getattr(module, name)
    return found


def _strip_targets(node: Any, path: str, problems: list[tuple[str, str]]) -> Any:
    """Remove supported ``_target_`` keys recursively; report the others."""
    if isinstance(node, dict):
        target = node.get("_target_")
        if target is not None and _target_class(str(target)) not in _known_classes():
            problems.append((f"{path}._target_" if path else "_target_", f"unsupported target {target!r}"))
        return {
            k: _strip_targets(v, f"{path}.{k}" if path else str(k), problems)
            for k, v in node.items()
            if k != "_target_"
        }
    if isinstance(node, list):
        return [_strip_targets(v, f"{path}[{i}]", problems) for i, v in enumerate(node)]
    return node


def _pick_extension(data: dict[str, Any], key: str | None, source: str) -> tuple[dict[str, Any], str]:
    """From an airflow-config document, return the supervisor extension and its path."""
    extensions = data.get("extensions") or {}
    ours = {k: v for k, v in extensions.items() if isinstance(v, dict) and _target_class(str(v.get("_target_", "")))}
    if key is not None:
        if key not in extensions:
            raise ConfigurationError(
                [("extensions", f"no extension named {key!r}; found {sorted(extensions)}")], source
            )
        return extensions[key], f"extensions.{key}"
    if len(ours) != 1:
        found = sorted(ours) or "none"
        raise ConfigurationError(
            [("extensions", f"expected exactly one supervisor extension, found {found}; pass key=...")], source
        )
    name, value = next(iter(ours.items()))
    return value, f"extensions.{name}"


def _is_config_dir(source: str | Path) -> bool:
    """airflow-supervisor's ``load("config", ...)``: a folder, or a bare folder name (no YAML could be that)."""
    text = str(source)
    if "\n" in text or any(char in text for char in ":{}[]#"):
        return False  # YAML text
    try:
        if Path(source).is_dir():
            return True
    except OSError:  # e.g. a name too long to be a path
        return False
    return isinstance(source, str) and text.strip() != "" and not text.endswith((".yaml", ".yml", ".json"))


def load_configuration(
    cls: type[M], source: str | Path, overrides: Sequence[str] | str = (), *, key: str | None = None
) -> M:
    """Load ``cls`` from YAML (path or text) with OmegaConf overrides; see ``SupervisorAirflowConfiguration.load``.

    airflow-supervisor's calls ``load(config_dir)`` and ``load(config_dir, config_name)`` compose with
    Hydra instead (see ``hydra``).
    """
    if isinstance(overrides, str) or _is_config_dir(source):
        from .hydra import load_hydra

        name, extra = (overrides, ()) if isinstance(overrides, str) else ("", overrides)
        return load_hydra(cls, source, name, list(extra), key=key)

    import yaml
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    text, where = read_source(source)
    try:
        conf = OmegaConf.create(text)
    except (OmegaConfBaseException, yaml.YAMLError, ValueError) as exc:
        raise ConfigurationError([("(yaml)", _yaml_problem(exc))], source=where) from exc
    try:
        dotlist = [_override_as_yaml(item) for item in overrides]
        merged = OmegaConf.merge(conf, OmegaConf.from_dotlist(dotlist)) if overrides else conf
    except (OmegaConfBaseException, yaml.YAMLError, ValueError) as exc:
        raise ConfigurationError([("(overrides)", _yaml_problem(exc))], source=where) from exc
    try:
        data = OmegaConf.to_container(merged, resolve=True)
    except (OmegaConfBaseException, ValueError) as exc:  # e.g. an interpolation of a missing key
        raise ConfigurationError([("(yaml)", _yaml_problem(exc))], source=where) from exc
    return validate_document(cls, data, where, key=key)


def _yaml_problem(exc: Exception) -> str:
    """One line for a YAML or OmegaConf error, keeping the line and column YAML gives."""
    import yaml

    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        text = f"line {mark.line + 1}, column {mark.column + 1}: {exc.problem}"
        if exc.context and exc.context_mark is not None:
            start = exc.context_mark
            text += f" ({exc.context} started at line {start.line + 1}, column {start.column + 1})"
        return text
    return str(exc).splitlines()[0]


def _override_as_yaml(item: str) -> str:
    """``key=value`` with ``value`` quoted as a string when it is not valid YAML (``*:9091``, ``@x``, ``a: b``)."""
    import json

    import yaml

    key, sep, value = item.partition("=")
    if not sep:
        raise ValueError(f"override {item!r} is not KEY=VALUE")
    try:
        yaml.safe_load(value)
    except yaml.YAMLError:
        return f"{key}={json.dumps(value)}"  # a JSON string is a YAML double-quoted string
    return item


def validate_document(cls: type[M], data: Any, where: str, *, key: str | None = None) -> M:
    """Validate a loaded document into ``cls``, or into the subclass of ``cls`` its ``_target_`` names.

    An airflow-config document (``_target_: airflow_config.Configuration``, or ``extensions`` without
    ``program``) gives its supervisor extension (``key`` picks one of several). Raises
    ``ConfigurationError`` naming every invalid field.
    """
    if not isinstance(data, dict):
        raise ConfigurationError([("(top level)", f"expected a mapping, got {type(data).__name__}")], source=where)

    prefix = ""
    is_airflow_config = str(data.get("_target_", "")) in _AIRFLOW_CONFIG_TARGETS
    if is_airflow_config or ("extensions" in data and "program" not in data):
        data, prefix = _pick_extension(data, key, where)

    target_name = _target_class(str(data.get("_target_", "")))
    if target_name is None and _SSH_KEYS & data.keys():
        target_name = "SupervisorSSHAirflowConfiguration"  # a remote job written without `_target_`
    target_cls: type[M] = cls
    if target_name is not None:
        candidate = _known_classes().get(target_name)
        if isinstance(candidate, type) and issubclass(candidate, cls):
            target_cls = candidate  # e.g. the SSH variant requested by the file itself

    problems: list[tuple[str, str]] = []
    data = _strip_targets(data, prefix, problems)
    if problems:
        raise ConfigurationError(problems, source=where)
    # sections left empty (`program:` with nothing under it, as in supervisor-pydantic's base files) are unset
    sections = _known_classes()["SupervisorConfiguration"].model_fields
    data = {k: v for k, v in data.items() if not (v is None and k in sections)}
    try:
        return target_cls.model_validate(data)
    except ValidationError as exc:
        raise ConfigurationError(format_validation_error(exc, prefix=prefix), source=where) from exc


def coerce_job(value: Any, *, remote: bool = False, where: str = "cfg") -> SupervisorAirflowConfiguration:
    """A job configuration from a model of ours, a mapping (as airflow-config passes ``cfg``), or a model of
    airflow-supervisor itself (by its fields). A mapping is read like a YAML document: ``_target_`` keys,
    airflow-supervisor's layout; an SSH job when ``remote`` or when it has ``ssh`` options.
    """
    from collections.abc import Mapping

    from pydantic import BaseModel

    from .airflow import SupervisorAirflowConfiguration, SupervisorSSHAirflowConfiguration

    if isinstance(value, SupervisorAirflowConfiguration):
        return value
    if isinstance(value, BaseModel):  # e.g. airflow_supervisor's own model, when that package is installed too
        value = value.model_dump(exclude_unset=True)
    if not isinstance(value, Mapping):
        raise ConfigurationError([(where, f"expected a job configuration or a mapping, got {type(value).__name__}")])
    data = dict(value)
    cls = SupervisorSSHAirflowConfiguration if remote or _SSH_KEYS & data.keys() else SupervisorAirflowConfiguration
    return validate_document(cls, data, where)
