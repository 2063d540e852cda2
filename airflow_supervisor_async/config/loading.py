"""Load configurations from YAML with OmegaConf: interpolation, dotlist overrides, airflow-config files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import ValidationError

from .errors import ConfigurationError, format_validation_error

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pydantic import BaseModel

__all__ = ("load_configuration", "read_source")

M = TypeVar("M", bound="BaseModel")

# `_target_` modules we understand: this package and the library it grew from.
_TARGET_PACKAGES = ("airflow_supervisor_async", "airflow_supervisor", "supervisor_pydantic")
_AIRFLOW_CONFIG_TARGETS = ("airflow_config.Configuration",)


def read_source(source: str | Path) -> tuple[str, str]:
    """Return ``(yaml_text, description)`` for a file path or literal YAML text."""
    if isinstance(source, Path) or ("\n" not in source and source.endswith((".yaml", ".yml", ".json"))):
        path = Path(source)
        if not path.is_file():
            raise ConfigurationError([("(file)", f"no such configuration file: {path}")], source=str(path))
        return path.read_text(encoding="utf-8"), str(path)
    return source, "YAML text"


def _target_class(target: str) -> str | None:
    """The class name a supported ``_target_`` points at, or None if it is not one of ours."""
    module, _, name = target.rpartition(".")
    return name if module.split(".")[0] in _TARGET_PACKAGES else None


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


def load_configuration(cls: type[M], source: str | Path, overrides: Sequence[str] = (), *, key: str | None = None) -> M:
    """Load ``cls`` from YAML (path or text) with OmegaConf overrides; see ``SupervisorAirflowConfiguration.load``."""
    import yaml
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    text, where = read_source(source)
    try:
        conf = OmegaConf.create(text)
        if overrides:
            conf = OmegaConf.merge(conf, OmegaConf.from_dotlist(list(overrides)))
        data = OmegaConf.to_container(conf, resolve=True)
    except (OmegaConfBaseException, yaml.YAMLError, ValueError) as exc:
        raise ConfigurationError([("(yaml)", str(exc).splitlines()[0])], source=where) from exc
    if not isinstance(data, dict):
        raise ConfigurationError([("(top level)", f"expected a mapping, got {type(data).__name__}")], source=where)

    prefix = ""
    is_airflow_config = str(data.get("_target_", "")) in _AIRFLOW_CONFIG_TARGETS
    if is_airflow_config or ("extensions" in data and "program" not in data):
        data, prefix = _pick_extension(data, key, where)

    target_name = _target_class(str(data.get("_target_", "")))
    target_cls: type[M] = cls
    if target_name is not None:
        candidate = _known_classes().get(target_name)
        if isinstance(candidate, type) and issubclass(candidate, cls):
            target_cls = candidate  # e.g. the SSH variant requested by the file itself

    problems: list[tuple[str, str]] = []
    data = _strip_targets(data, prefix, problems)
    if problems:
        raise ConfigurationError(problems, source=where)
    try:
        return target_cls.model_validate(data)
    except ValidationError as exc:
        raise ConfigurationError(format_validation_error(exc, prefix=prefix), source=where) from exc
