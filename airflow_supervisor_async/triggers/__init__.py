"""Airflow triggers: async loops on the triggerer that poll supervisord and yield one event."""

from .outcome import Outcome
from .programs import SupervisorProgramsTrigger

__all__ = ("Outcome", "SupervisorProgramsTrigger")
