"""Deferrable sensors: the monitoring step, which holds no worker slot while it waits."""

from .programs import RestartProgramsOperator, SupervisorProgramsSensor

__all__ = ("RestartProgramsOperator", "SupervisorProgramsSensor")
