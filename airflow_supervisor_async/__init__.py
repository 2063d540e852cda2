"""Run long-running and always-on programs under supervisord, driven by Apache Airflow 3.

The configuration models and the async client import without Airflow; the DAG factories
(``Supervisor``, ``SupervisorLocal``, ``SupervisorRemote``) and the client are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .config import *  # noqa: F403
from .config import __all__ as _config_all

if TYPE_CHECKING:
    from .client import SupervisorClient as SupervisorClient
    from .dags import Supervisor as Supervisor
    from .dags import SupervisorLocal as SupervisorLocal
    from .dags import SupervisorRemote as SupervisorRemote

__version__ = "0.1.0"

_LAZY = {
    "Supervisor": "dags",
    "SupervisorLocal": "dags",
    "SupervisorRemote": "dags",
    "SupervisorClient": "client",
}

__all__ = (*_config_all, *_LAZY, "__version__")


def __getattr__(name: str) -> Any:
    """Import the Airflow-dependent parts (and the client) only when they are used."""
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
