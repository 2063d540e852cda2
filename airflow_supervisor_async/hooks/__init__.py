"""Airflow hooks: clients for a supervisord endpoint and SSH connections, with secrets from Airflow connections;
``hooks.job``: what every task of a job shares (the step operators and the monitoring sensor).

``hooks.ssh`` imports Airflow only when it reads a connection (the CLI uses it); ``SupervisorHook`` is
imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .supervisor import SupervisorHook as SupervisorHook

__all__ = ("SupervisorHook",)


def __getattr__(name: str) -> Any:
    if name == "SupervisorHook":
        from .supervisor import SupervisorHook

        return SupervisorHook
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
