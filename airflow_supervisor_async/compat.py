"""airflow-supervisor's module names, importable as aliases of this package when the real ones are absent.

YAML written for airflow-supervisor names its classes ``airflow_supervisor.X`` and
``supervisor_pydantic.X``. Our own loaders map those names without importing anything
(``config.legacy.SEED_NAMES``); airflow-config and Hydra's ``instantiate`` import them, so once this
package is imported, ``import airflow_supervisor`` (and ``supervisor_pydantic``, and their
submodules) gives a module whose attributes are ours under the seed's names.

The finder is the *last* entry of ``sys.meta_path``: an installed airflow-supervisor or
supervisor-pydantic is always found first and never shadowed. Creating an alias warns
(``LegacyLayoutWarning``) with the name to write instead.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
import warnings
from typing import TYPE_CHECKING, Any

from .config.legacy import GONE, LegacyLayoutWarning, seed_name

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ("SEED_PACKAGES", "SeedModuleFinder", "install_seed_aliases")

#: The seed's top-level packages that resolve to this one.
SEED_PACKAGES = ("airflow_supervisor", "supervisor_pydantic")


def resolve_seed_name(name: str, where: str) -> Any:
    """Our object for a public name of airflow-supervisor / supervisor-pydantic; ``AttributeError`` saying
    what replaces it otherwise."""
    ours = seed_name(name)
    if ours is None:
        if name in GONE:
            raise AttributeError(f"{where}.{name} (airflow-supervisor) has no equivalent here: use {GONE[name]}")
        alias = " (an alias of airflow_supervisor_async)" if where.split(".")[0] in SEED_PACKAGES else ""
        raise AttributeError(f"module {where!r}{alias} has no attribute {name!r}")
    module, attribute = ours
    return getattr(importlib.import_module(f"airflow_supervisor_async.{module}"), attribute)


class _SeedModule(types.ModuleType):
    """``airflow_supervisor`` (or a submodule): every attribute is looked up in the seed-name table."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        value = resolve_seed_name(name, self.__name__)
        setattr(self, name, value)
        return value


class SeedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``airflow_supervisor[.x]`` and ``supervisor_pydantic[.x]`` only when nothing else does."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        root, _, last = fullname.rpartition(".")
        if fullname.split(".")[0] not in SEED_PACKAGES:
            return None
        if root and (seed_name(last) is not None or last in GONE or not last.islower()):
            return None  # a name, not a submodule: `from airflow_supervisor import X` reports X itself
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        if "." not in spec.name:
            warnings.warn(
                f"`{spec.name}` is airflow-supervisor's module name and is not installed; it resolves to "
                "airflow_supervisor_async: rename `" + spec.name + ".X` to `airflow_supervisor_async.X`",
                LegacyLayoutWarning,
                stacklevel=2,
            )
        return _SeedModule(spec.name)

    def exec_module(self, module: types.ModuleType) -> None:
        module.__path__ = []  # a package, so that submodule names (airflow_supervisor.config.x) import too


def install_seed_aliases() -> None:
    """Append the finder to ``sys.meta_path`` (once); real installations of the seed stay first."""
    if not any(isinstance(finder, SeedModuleFinder) for finder in sys.meta_path):
        sys.meta_path.append(SeedModuleFinder())
