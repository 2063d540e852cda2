"""Airflow triggers: async loops on the triggerer that poll supervisord and yield one event.

``outcome`` (what a snapshot of program states means) is plain Python and imports without Airflow;
the trigger class is imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .outcome import Outcome

if TYPE_CHECKING:
    from .programs import SupervisorProgramsTrigger as SupervisorProgramsTrigger

__all__ = ("Outcome", "SupervisorProgramsTrigger")


def __getattr__(name: str) -> Any:
    if name == "SupervisorProgramsTrigger":
        from .programs import SupervisorProgramsTrigger

        return SupervisorProgramsTrigger
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
