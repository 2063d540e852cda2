"""One model per supervisord.conf section, covering every key supervisord 4.x reads.

Field names are supervisord's key names; ``None`` means "not set" (supervisord's default applies and
the key is not rendered). Descriptions follow supervisord's configuration documentation.
"""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import ConfigDict, Field, model_validator

from .base import (
    ByteSize,
    CommaList,
    Environment,
    IntList,
    LogLevel,
    Octal,
    PathStr,
    SectionModel,
    Signal,
    SpaceList,
    Text,
)

__all__ = (
    "EventListenerConfiguration",
    "FcgiProgramConfiguration",
    "GroupConfiguration",
    "IncludeConfiguration",
    "InetHttpServerConfiguration",
    "ProgramConfiguration",
    "RpcInterfaceConfiguration",
    "SupervisorctlConfiguration",
    "SupervisordConfiguration",
    "UnixHttpServerConfiguration",
)


class UnixHttpServerConfiguration(SectionModel):
    """``[unix_http_server]``: the HTTP/XML-RPC server on a unix socket (what supervisorctl uses locally)."""

    file: PathStr | None = Field(default=None, description="Path of the unix socket to listen on.")
    chmod: Octal | None = Field(default=None, description="Mode of the socket file, octal. Default 0700.")
    chown: Text | None = Field(default=None, description="`user` or `user:group` owning the socket file.")
    username: Text | None = Field(default=None, description="Username required for authentication. Default: none.")
    password: Text | None = Field(
        default=None, description="Password required for authentication: cleartext, or `{SHA}` + SHA-1 hex digest."
    )


class InetHttpServerConfiguration(SectionModel):
    """``[inet_http_server]``: the HTTP/XML-RPC server on a TCP port (web UI, remote supervisorctl)."""

    port: Text | None = Field(
        default=None,
        description="`host:port` to listen on, e.g. `127.0.0.1:9001`; `:9001` or `*:9001` means all interfaces "
        "(then set username and password).",
    )
    username: Text | None = Field(default=None, description="Username required for authentication. Default: none.")
    password: Text | None = Field(
        default=None, description="Password required for authentication: cleartext, or `{SHA}` + SHA-1 hex digest."
    )


class SupervisordConfiguration(SectionModel):
    """``[supervisord]``: the daemon itself."""

    logfile: PathStr | None = Field(
        default=None, description="Activity log of supervisord. Default `$CWD/supervisord.log`; `NONE` disables it."
    )
    logfile_maxbytes: ByteSize | None = Field(
        default=None, description="Size at which the activity log rotates (e.g. `50MB`); 0 means unlimited."
    )
    logfile_backups: int | None = Field(default=None, ge=0, description="Rotated activity logs kept. Default 10.")
    loglevel: LogLevel | None = Field(default=None, description="Activity log level. Default `info`.")
    pidfile: PathStr | None = Field(default=None, description="Where supervisord writes its pid.")
    umask: Octal | None = Field(default=None, description="umask of supervisord, octal. Default 022.")
    nodaemon: bool | None = Field(default=None, description="Run in the foreground instead of daemonizing.")
    silent: bool | None = Field(default=None, description="With nodaemon, do not log to stdout.")
    minfds: int | None = Field(default=None, ge=0, description="File descriptors that must be free to start.")
    minprocs: int | None = Field(default=None, ge=0, description="Process slots that must be free to start.")
    nocleanup: bool | None = Field(default=None, description="Keep AUTO child log files at startup.")
    childlogdir: PathStr | None = Field(default=None, description="Directory for AUTO child log files.")
    user: Text | None = Field(default=None, description="Switch to this user after start (needs root).")
    directory: PathStr | None = Field(default=None, description="Directory supervisord changes to when it daemonizes.")
    strip_ansi: bool | None = Field(default=None, description="Strip ANSI escape sequences from child logs.")
    environment: Environment | None = Field(
        default=None, description="Environment variables for supervisord and every child, as a mapping."
    )
    identifier: Text | None = Field(default=None, description="Identifier string of this supervisor for RPC.")


class SupervisorctlConfiguration(SectionModel):
    """``[supervisorctl]``: settings of the supervisorctl shell."""

    serverurl: Text | None = Field(
        default=None, description="URL of supervisord, e.g. `unix:///tmp/supervisor.sock` or `http://127.0.0.1:9001`."
    )
    username: Text | None = Field(default=None, description="Username to authenticate with.")
    password: Text | None = Field(default=None, description="Password to authenticate with (cleartext).")
    prompt: Text | None = Field(default=None, description="Prompt of the shell. Default `supervisor`.")
    history_file: PathStr | None = Field(default=None, description="File keeping the shell's readline history.")


class _ProcessKeys(SectionModel):
    """Keys shared by ``[program:x]``, ``[eventlistener:x]`` and ``[fcgi-program:x]``."""

    command: Text | None = Field(
        default=None, description="Command to run; relative names are looked up on PATH. Required by supervisord."
    )
    process_name: Text | None = Field(
        default=None,
        description="Name of each process, a Python format string such as `%(program_name)s_%(process_num)02d`; "
        "must contain `%(process_num)` when numprocs > 1.",
    )
    numprocs: int | None = Field(default=None, ge=1, description="Number of copies of the process. Default 1.")
    numprocs_start: int | None = Field(default=None, ge=0, description="First `process_num`. Default 0.")
    priority: int | None = Field(
        default=None, description="Start order (low first) and reverse stop order. Default 999."
    )
    autostart: bool | None = Field(default=None, description="Start the program when supervisord starts.")
    startsecs: int | None = Field(
        default=None, ge=0, description="Seconds the program must stay up to count as started. Default 1."
    )
    startretries: int | None = Field(default=None, ge=0, description="Spawn attempts before FATAL. Default 3.")
    autorestart: bool | Literal["unexpected"] | None = Field(
        default=None, description="Restart after exit: `true`, `false`, or `unexpected` (exit code not in exitcodes)."
    )
    exitcodes: IntList | None = Field(default=None, description="Expected exit codes, e.g. `[0, 2]`. Default `[0]`.")
    stopsignal: Signal | None = Field(default=None, description="Signal that stops the program. Default TERM.")
    stopwaitsecs: int | None = Field(
        default=None, ge=0, description="Seconds to wait after stopsignal before SIGKILL. Default 10."
    )
    stopasgroup: bool | None = Field(default=None, description="Send stopsignal to the whole process group.")
    killasgroup: bool | None = Field(default=None, description="Send the final SIGKILL to the whole process group.")
    user: Text | None = Field(default=None, description="Run the program as this user (supervisord must be root).")
    redirect_stderr: bool | None = Field(default=None, description="Send stderr to the stdout log.")
    stdout_logfile: PathStr | None = Field(
        default=None, description="stdout log file; `AUTO` (default) in childlogdir, `NONE` for none."
    )
    stdout_logfile_maxbytes: ByteSize | None = Field(default=None, description="Rotation size of the stdout log.")
    stdout_logfile_backups: int | None = Field(default=None, ge=0, description="Rotated stdout logs kept. Default 10.")
    stdout_capture_maxbytes: ByteSize | None = Field(default=None, description="Capture-mode buffer for stdout.")
    stdout_events_enabled: bool | None = Field(default=None, description="Emit PROCESS_LOG_STDOUT events.")
    stdout_syslog: bool | None = Field(default=None, description="Also send stdout to syslog.")
    stderr_logfile: PathStr | None = Field(
        default=None, description="stderr log file; `AUTO` (default) in childlogdir, `NONE` for none."
    )
    stderr_logfile_maxbytes: ByteSize | None = Field(default=None, description="Rotation size of the stderr log.")
    stderr_logfile_backups: int | None = Field(default=None, ge=0, description="Rotated stderr logs kept. Default 10.")
    stderr_capture_maxbytes: ByteSize | None = Field(default=None, description="Capture-mode buffer for stderr.")
    stderr_events_enabled: bool | None = Field(default=None, description="Emit PROCESS_LOG_STDERR events.")
    stderr_syslog: bool | None = Field(default=None, description="Also send stderr to syslog.")
    environment: Environment | None = Field(
        default=None, description="Environment variables of the program, as a mapping (added to supervisord's)."
    )
    directory: PathStr | None = Field(default=None, description="Directory to change to before running the program.")
    umask: Octal | None = Field(default=None, description="umask of the program, octal.")
    serverurl: Text | None = Field(
        default=None, description="Value of SUPERVISOR_SERVER_URL in the program's environment; `AUTO` by default."
    )

    @model_validator(mode="after")
    def _numprocs_need_process_num(self) -> Self:
        if (self.numprocs or 1) > 1 and "%(process_num)" not in (self.process_name or ""):
            raise ValueError(
                f"numprocs is {self.numprocs}, so process_name must contain %(process_num) to give each process "
                f"its own name (got process_name={self.process_name!r})"
            )
        return self


class ProgramConfiguration(_ProcessKeys):
    """``[program:x]``: a program supervisord runs."""


class EventListenerConfiguration(_ProcessKeys):
    """``[eventlistener:x]``: a program that receives supervisord events on stdin."""

    buffer_size: int | None = Field(default=None, ge=1, description="Event queue size of the pool. Default 10.")
    events: CommaList | None = Field(default=None, description="Event type names to subscribe to, e.g. `[TICK_5]`.")
    result_handler: Text | None = Field(
        default=None,
        description="Entry point handling listener results. Default `supervisor.dispatchers:default_handler`.",
    )


class FcgiProgramConfiguration(_ProcessKeys):
    """``[fcgi-program:x]``: a FastCGI program sharing a socket opened by supervisord."""

    socket: Text | None = Field(
        default=None, description="`tcp://host:port` or `unix:///path` the program's processes share. Required."
    )
    socket_backlog: int | None = Field(default=None, ge=1, description="listen() backlog of the socket.")
    socket_owner: Text | None = Field(default=None, description="`user` or `user:group` owning a unix socket.")
    socket_mode: Octal | None = Field(default=None, description="Mode of a unix socket, octal. Default 0700.")


class GroupConfiguration(SectionModel):
    """``[group:x]``: programs managed together under one name."""

    programs: CommaList = Field(description="Names of the programs in the group.")
    priority: int | None = Field(default=None, description="Start order of the group. Default 999.")


class IncludeConfiguration(SectionModel):
    """``[include]``: more configuration files to read."""

    space_separated = frozenset({"files"})

    files: SpaceList = Field(description="Glob patterns of files to include; relative to the including file.")


class RpcInterfaceConfiguration(SectionModel):
    """``[rpcinterface:x]``: an XML-RPC interface; extra keys are passed to its factory."""

    model_config = ConfigDict(extra="allow", validate_assignment=True, str_strip_whitespace=True, populate_by_name=True)

    rpcinterface_factory: Text = Field(
        alias="supervisor.rpcinterface_factory",
        description="Entry point of the factory, e.g. `supervisor.rpcinterface:make_main_rpcinterface` "
        "(the `supervisor.rpcinterface_factory` key).",
    )

    @model_validator(mode="before")
    @classmethod
    def _extras_are_text(cls, data: Any) -> Any:
        if isinstance(data, dict):
            from .base import check_value

            for key, value in data.items():
                if key in ("rpcinterface_factory", "supervisor.rpcinterface_factory"):
                    continue
                if not isinstance(value, str):
                    raise ValueError(f"{key}: factory arguments are text, got {value!r}")
                check_value(value)
        return data
