"""Run long-running and always-on programs under supervisord, driven by Apache Airflow 3.

The configuration models and the async client import without Airflow; they, the DAG factories
(``Supervisor``, ``SupervisorLocal``, ``SupervisorRemote``) and the client are imported on first use.
airflow-supervisor's public names (``SupervisorConvenienceConfiguration``, ``ProcessInfo``,
``SupervisorSSH``, ...) resolve to their counterparts here (see ``config.legacy.SEED_NAMES``), and
``airflow_supervisor.X`` / ``supervisor_pydantic.X`` become importable aliases when those packages
are not installed (see ``compat``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .compat import install_seed_aliases, resolve_seed_name
from .config import __all__ as _config_all

if TYPE_CHECKING:
    from .client import ProcessInfo as ProcessInfo
    from .client import ProcessState as ProcessState
    from .client import SupervisorClient as SupervisorClient
    from .config import *  # noqa: F403
    from .dags import Supervisor as Supervisor
    from .dags import SupervisorLocal as SupervisorLocal
    from .dags import SupervisorRemote as SupervisorRemote
    from .dags.airflow_config import SupervisorSSH as SupervisorSSH
    from .dags.airflow_config import SupervisorSSHTask as SupervisorSSHTask
    from .dags.airflow_config import SupervisorSSHTaskArgs as SupervisorSSHTaskArgs
    from .dags.airflow_config import SupervisorTask as SupervisorTask
    from .dags.airflow_config import SupervisorTaskArgs as SupervisorTaskArgs
    from .sync import SupervisorSyncClient as SupervisorSyncClient

__version__ = "0.1.0"

_LAZY = {
    "Supervisor": "dags",
    "SupervisorLocal": "dags",
    "SupervisorRemote": "dags",
    "SupervisorSSH": "dags.airflow_config",
    "SupervisorTask": "dags.airflow_config",
    "SupervisorTaskArgs": "dags.airflow_config",
    "SupervisorSSHTask": "dags.airflow_config",
    "SupervisorSSHTaskArgs": "dags.airflow_config",
    "SupervisorClient": "client",
    "SupervisorSyncClient": "sync",
    "ProcessInfo": "client",
    "ProcessState": "client",
}

__all__ = (*_config_all, *_LAZY, "__version__")

install_seed_aliases()


def __getattr__(name: str) -> Any:
    """Import the Airflow-dependent parts (and the client) only when they are used; airflow-supervisor's
    other names resolve to their counterparts here."""
    if name in _LAZY or name in _config_all:
        from importlib import import_module

        value = getattr(import_module(f".{_LAZY.get(name, 'config')}", __name__), name)
    elif not name.startswith("__"):
        value = resolve_seed_name(name, __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value
