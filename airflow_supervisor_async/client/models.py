"""Typed results of supervisord's XML-RPC API (Pydantic models, frozen).

Times are integer epoch seconds as supervisord reports them (0 = never). Unknown extra fields sent by
newer supervisord versions are ignored.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .errors import Faults

__all__ = (
    "LogTail",
    "ProcessInfo",
    "ProcessState",
    "ProcessStatus",
    "ReloadResult",
    "SupervisorState",
    "SupervisorStateCode",
    "display_name",
)

_FROZEN = ConfigDict(frozen=True, extra="ignore")


class ProcessState(IntEnum):
    """State of one supervised process (``supervisor.states.ProcessStates``)."""

    STOPPED = 0
    STARTING = 10
    RUNNING = 20
    BACKOFF = 30
    STOPPING = 40
    EXITED = 100
    FATAL = 200
    UNKNOWN = 1000

    @classmethod
    def _missing_(cls, value: object) -> ProcessState:
        return cls.UNKNOWN  # a code this client does not know: treat as UNKNOWN rather than fail the whole call

    @property
    def is_running(self) -> bool:
        """STARTING, RUNNING or BACKOFF: supervisord considers the process active (its ``RUNNING_STATES``)."""
        return self in (ProcessState.STARTING, ProcessState.RUNNING, ProcessState.BACKOFF)

    @property
    def is_stopped(self) -> bool:
        """STOPPED, EXITED, FATAL or UNKNOWN: no process is running (supervisord's ``STOPPED_STATES``)."""
        return self in (ProcessState.STOPPED, ProcessState.EXITED, ProcessState.FATAL, ProcessState.UNKNOWN)

    @property
    def is_signallable(self) -> bool:
        """STARTING, RUNNING or STOPPING: a signal can be sent to the process."""
        return self in (ProcessState.STARTING, ProcessState.RUNNING, ProcessState.STOPPING)

    @property
    def is_terminal(self) -> bool:
        """STOPPED, EXITED or FATAL: supervisord will not change the state on its own any more.

        (EXITED may still be followed by an automatic restart when ``autorestart`` applies.)
        """
        return self in (ProcessState.STOPPED, ProcessState.EXITED, ProcessState.FATAL)

    @property
    def is_terminal_failure(self) -> bool:
        """FATAL (could not be started within ``startretries``) or UNKNOWN (supervisord lost track).

        An EXITED process may also have failed: compare its ``exitstatus`` with the expected exit codes.
        """
        return self in (ProcessState.FATAL, ProcessState.UNKNOWN)


class SupervisorStateCode(IntEnum):
    """State of supervisord itself (``supervisor.states.SupervisorStates``)."""

    FATAL = 2
    RUNNING = 1
    RESTARTING = 0
    SHUTDOWN = -1


class SupervisorState(BaseModel):
    """Result of ``getState``."""

    model_config = _FROZEN

    statecode: SupervisorStateCode = Field(description="supervisord's state code.")
    statename: str = Field(description="Its name, e.g. `RUNNING`.")

    @property
    def is_running(self) -> bool:
        """supervisord is up and serving (not restarting, shutting down or fatal)."""
        return self.statecode is SupervisorStateCode.RUNNING


def display_name(group: str, name: str) -> str:
    """How a process is shown to people: ``name`` for a plain ``[program:x]`` (its group has its name),
    ``group:name`` for one process of several. Also a valid name to pass to calls."""
    return name if name == group else f"{group}:{name}"


class ProcessInfo(BaseModel):
    """Result of ``getProcessInfo``: one process.

    Names: ``name`` is the process name, ``group`` its group; for a plain ``[program:x]`` both are ``x``.
    Address it as ``full_name`` (``group:name``) in calls.
    """

    model_config = _FROZEN

    name: str = Field(description="Process name (`process_name`).")
    group: str = Field(description="Process group name (the program name for `[program:x]`).")
    description: str = Field(default="", description="supervisorctl's status text, e.g. `pid 12, uptime 0:01:02`.")
    start: int = Field(default=0, description="Epoch seconds of the last start (0 = never started).")
    stop: int = Field(default=0, description="Epoch seconds of the last stop (0 = never stopped).")
    now: int = Field(default=0, description="supervisord's clock, epoch seconds, when it answered.")
    state: ProcessState = Field(description="The process state.")
    statename: str = Field(default="", description="Name of `state`, as supervisord spells it.")
    spawnerr: str = Field(default="", description="Why the last spawn failed; empty if it did not.")
    exitstatus: int = Field(default=0, description="Exit status of the last exit (0 when it never exited).")
    logfile: str = Field(default="", description="Deprecated alias of `stdout_logfile`.")
    stdout_logfile: str = Field(default="", description="Path of the stdout log file ('' if none).")
    stderr_logfile: str = Field(default="", description="Path of the stderr log file ('' if none).")
    pid: int = Field(default=0, description="PID of the running process, 0 when it is not running.")

    @field_validator("state", mode="before")
    @classmethod
    def _state(cls, value: Any) -> ProcessState:
        return ProcessState(int(value))

    @property
    def full_name(self) -> str:
        """``group:name``: the unambiguous name to pass to calls."""
        return f"{self.group}:{self.name}"

    @property
    def display_name(self) -> str:
        """``name`` for a plain program, ``group:name`` for one process of several (see ``display_name``)."""
        return display_name(self.group, self.name)

    @property
    def is_running(self) -> bool:
        """The process is STARTING, RUNNING or BACKOFF."""
        return self.state.is_running

    @property
    def uptime(self) -> int:
        """Seconds since the last start while RUNNING, else 0."""
        return max(0, self.now - self.start) if self.state is ProcessState.RUNNING else 0


class ProcessStatus(BaseModel):
    """One entry of the results of the ``*Group``/``*All`` calls (start/stop/signal/clear many processes)."""

    model_config = _FROZEN

    name: str = Field(description="Process name.")
    group: str = Field(description="Process group name.")
    status: int = Field(description="`Faults.SUCCESS` (80) when it worked, else the fault code.")
    description: str = Field(default="", description="`OK` or the fault text.")

    @property
    def ok(self) -> bool:
        """The operation succeeded for this process."""
        return self.status == Faults.SUCCESS

    @property
    def full_name(self) -> str:
        """``group:name``."""
        return f"{self.group}:{self.name}"


class LogTail(BaseModel):
    """Result of ``tailProcessStdoutLog``/``tailProcessStderrLog``.

    Pass ``offset`` back as the next call's offset to follow the log.
    """

    model_config = _FROZEN

    text: str = Field(description="The log bytes, as supervisord returns them (decoded text).")
    offset: int = Field(description="Offset (bytes) just after the returned data: the log's current size.")
    overflow: bool = Field(description="More than `length` bytes were available; older ones were skipped.")


class ReloadResult(BaseModel):
    """Result of ``reloadConfig``: process group names by what changed since the last load."""

    model_config = _FROZEN

    added: list[str] = Field(default_factory=list, description="Groups in the new configuration only.")
    changed: list[str] = Field(default_factory=list, description="Groups whose configuration changed.")
    removed: list[str] = Field(default_factory=list, description="Groups no longer in the configuration.")
