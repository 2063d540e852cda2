"""One model per supervisord.conf section, covering every key supervisord 4.x reads.

Field names are supervisord's key names; ``None`` means "not set" (supervisord's default applies and
the key is not rendered). Descriptions follow supervisord's configuration documentation. Text values
use supervisord's syntax: ``%(here)s``-style expansions are kept for supervisord, ``%%`` is a literal ``%``.
"""

from __future__ import annotations

import re
from typing import Any, Self

from pydantic import ConfigDict, Field, ValidationInfo, field_validator, model_validator

from .base import (
    AutoRestart,
    Bool,
    ByteSize,
    ClientPassword,
    Environment,
    EventNames,
    ExitCodes,
    FilePath,
    FilePatterns,
    HostPort,
    HttpUser,
    LogFile,
    LogLevel,
    Octal,
    ProcessName,
    ProgramNames,
    SectionModel,
    ServerPassword,
    ServerUrl,
    Signal,
    SupervisordEnvironment,
    SystemUser,
    Text,
    UserGroup,
)
from .ini import check_text

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

_USERNAME = "Username required to use this server (HTTP basic auth). Default: no authentication."
_PASSWORD = (
    "Password required to use this server: cleartext, or `{SHA}` followed by the SHA-1 hex digest of the password. "
    "A cleartext password is replaced by its `{SHA}` digest at once (supervisord accepts it), so it is never kept "
    "nor written to disk. Set together with `username`. Default: no authentication."
)
_SECRETS_HIDDEN = ConfigDict(hide_input_in_errors=True)  # pydantic's own messages never repeat a password
_AUTH_PAIR = "username and password must be set together (supervisord refuses only one of them)"


class _HttpServerAuth(SectionModel):
    """supervisord's rule for both HTTP servers: username and password come together."""

    model_config = _SECRETS_HIDDEN

    @field_validator("password", check_fields=False)
    @classmethod
    def _password_with_username(cls, value: str | None, info: ValidationInfo) -> str | None:
        # a field validator (not only the model one) so that error messages never echo the password
        if "username" in info.data and (info.data["username"] is None) != (value is None):
            raise ValueError(_AUTH_PAIR)
        return value

    @model_validator(mode="after")
    def _username_and_password_together(self) -> Self:
        if (getattr(self, "username", None) is None) != (getattr(self, "password", None) is None):
            raise ValueError(_AUTH_PAIR)
        return self


class UnixHttpServerConfiguration(_HttpServerAuth):
    """``[unix_http_server]``: the HTTP/XML-RPC server on a unix socket (what supervisorctl uses locally)."""

    file: FilePath | None = Field(
        default=None,
        description="Path of the unix domain socket supervisord listens on for HTTP/XML-RPC requests, e.g. "
        "`/tmp/supervisor.sock`; `%(here)s` is the config file's directory. Required in this section.",
    )
    chmod: Octal | None = Field(
        default=None, description="Permission bits of the socket file, in octal. Default `0700`."
    )
    chown: UserGroup | None = Field(
        default=None,
        description="Owner of the socket file, `user` or `user:group` (names or numeric ids). Default: the user "
        "and group supervisord runs as.",
    )
    username: HttpUser | None = Field(default=None, description=_USERNAME)
    password: ServerPassword | None = Field(default=None, validate_default=True, description=_PASSWORD)


class InetHttpServerConfiguration(_HttpServerAuth):
    """``[inet_http_server]``: the HTTP/XML-RPC server on a TCP port (web UI, remote supervisorctl)."""

    port: HostPort | None = Field(
        default=None,
        description="`host:port` to listen on, e.g. `127.0.0.1:9001`; `:9001` or `*:9001` listens on all "
        "interfaces (then also set `username` and `password`). Required in this section.",
    )
    username: HttpUser | None = Field(default=None, description=_USERNAME)
    password: ServerPassword | None = Field(default=None, validate_default=True, description=_PASSWORD)


class SupervisordConfiguration(SectionModel):
    """``[supervisord]``: the supervisord process itself."""

    logfile: FilePath | None = Field(
        default=None,
        description="Path of supervisord's activity log; `syslog` logs to syslog instead. Relative paths are "
        "relative to the directory supervisord starts in. Default `$CWD/supervisord.log`.",
    )
    logfile_maxbytes: ByteSize | None = Field(
        default=None,
        description="Size at which the activity log is rotated: bytes, or with a `KB`, `MB` or `GB` suffix "
        "(e.g. `50MB`); `0` never rotates. Default `50MB`.",
    )
    logfile_backups: int | None = Field(
        default=None, ge=0, description="Number of rotated activity logs kept; `0` keeps none. Default `10`."
    )
    loglevel: LogLevel | None = Field(
        default=None,
        description="Detail of the activity log: `critical`, `error`, `warn`, `info`, `debug`, `trace` or "
        "`blather`. Default `info`.",
    )
    pidfile: FilePath | None = Field(
        default=None, description="File supervisord writes its process id to. Default `$CWD/supervisord.pid`."
    )
    umask: Octal | None = Field(default=None, description="umask of supervisord, in octal. Default `022`.")
    nodaemon: Bool | None = Field(
        default=None, description="Run in the foreground instead of daemonizing. Default `false`."
    )
    silent: Bool | None = Field(
        default=None, description="With `nodaemon`, do not copy the activity log to stdout. Default `false`."
    )
    minfds: int | None = Field(
        default=None,
        ge=0,
        description="File descriptors that must be available for supervisord to start; it raises its soft limit "
        "up to this number if it can. Default `1024`.",
    )
    minprocs: int | None = Field(
        default=None,
        ge=0,
        description="Process slots that must be available for supervisord to start; it raises its soft limit up "
        "to this number if it can. Default `200`.",
    )
    nocleanup: Bool | None = Field(
        default=None,
        description="Keep old `AUTO` child log files at startup instead of deleting them. Default `false`.",
    )
    childlogdir: FilePath | None = Field(
        default=None,
        description="Existing directory for `AUTO` child log files. Default: the system temp directory.",
    )
    user: SystemUser | None = Field(
        default=None,
        description="User (name or uid) supervisord switches to after starting as root, before running any "
        "program. Default: do not switch.",
    )
    directory: FilePath | None = Field(
        default=None,
        description="Existing directory supervisord changes to when it daemonizes. Default: do not change.",
    )
    strip_ansi: Bool | None = Field(
        default=None, description="Remove ANSI escape sequences from child log files. Default `false`."
    )
    environment: SupervisordEnvironment | None = Field(
        default=None,
        description="Environment variables set for supervisord and every program, as a mapping (rendered "
        '`KEY="value",...`). supervisord expands this value twice, so a literal `%` is written `%%%%` here. '
        "Default: none added.",
    )
    identifier: Text | None = Field(
        default=None, description="Identifier of this supervisor, reported over XML-RPC. Default `supervisor`."
    )


class SupervisorctlConfiguration(SectionModel):
    """``[supervisorctl]``: settings of the supervisorctl shell."""

    model_config = _SECRETS_HIDDEN

    serverurl: ServerUrl | None = Field(
        default=None,
        description="URL of the supervisord to control: `unix:///path/to/supervisor.sock` or "
        "`http://127.0.0.1:9001`. Default `http://localhost:9001`.",
    )
    username: HttpUser | None = Field(
        default=None, description="Username sent to the server (HTTP basic auth). Default: none."
    )
    password: ClientPassword | None = Field(
        default=None,
        description="Password sent to the server, in cleartext (supervisorctl cannot send a `{SHA}` digest). Left "
        "out, supervisorctl asks for it when the server wants one: prefer that, the file then holds no secret. "
        "Default: none.",
    )
    prompt: Text | None = Field(default=None, description="Prompt of the interactive shell. Default `supervisor`.")
    history_file: FilePath | None = Field(
        default=None, description="File keeping the shell's readline history across sessions. Default: no history."
    )


class _ProcessKeys(SectionModel):
    """Keys shared by ``[program:x]``, ``[eventlistener:x]`` and ``[fcgi-program:x]``."""

    command: Text | None = Field(
        default=None,
        description="Command run when the program starts: an absolute path, or a name looked up on `PATH`, "
        "followed by arguments (split like a shell would, no shell features). May use `%(program_name)s`, "
        "`%(process_num)d`, `%(here)s`, `%(ENV_X)s`. Required by supervisord.",
    )
    process_name: ProcessName | None = Field(
        default=None,
        description="Name of each process, a Python format string, e.g. `%(program_name)s_%(process_num)02d`; "
        "must contain `%(process_num)` when `numprocs` > 1. Default `%(program_name)s`.",
    )
    numprocs: int | None = Field(default=None, ge=1, description="Number of copies of the process to run. Default `1`.")
    numprocs_start: int | None = Field(
        default=None, ge=0, description="`process_num` of the first copy (the others count up). Default `0`."
    )
    priority: int | None = Field(
        default=None,
        description="Relative start order: lower starts first and stops last. Default `999` (`-1` for event "
        "listeners).",
    )
    autostart: Bool | None = Field(
        default=None, description="Start the program when supervisord starts. Default `true`."
    )
    startsecs: int | None = Field(
        default=None,
        ge=0,
        description="Seconds the program must stay up after starting to count as started (RUNNING); `0` means "
        "at once. Default `1`.",
    )
    startretries: int | None = Field(
        default=None,
        ge=0,
        description="Failed start attempts allowed before the program is given up on (FATAL). Default `3`.",
    )
    autorestart: AutoRestart | None = Field(
        default=None,
        description="Restart the program when it exits while RUNNING: `true` always, `false` never, `unexpected` "
        "only when its exit code is not in `exitcodes`. Default `unexpected`.",
    )
    exitcodes: ExitCodes | None = Field(
        default=None,
        description="Exit codes (0-255) that count as expected, for `autorestart=unexpected`. Default `[0]`.",
    )
    stopsignal: Signal | None = Field(
        default=None,
        description="Signal sent to stop the program: `TERM`, `HUP`, `INT`, `QUIT`, `KILL`, `USR1` or `USR2` "
        "(signal numbers are converted to these names). Default `TERM`.",
    )
    stopwaitsecs: int | None = Field(
        default=None,
        ge=0,
        description="Seconds to wait after `stopsignal` before sending SIGKILL. Default `10`.",
    )
    stopasgroup: Bool | None = Field(
        default=None,
        description="Send `stopsignal` to the program's whole process group (its children too); implies "
        "`killasgroup`. Default `false`.",
    )
    killasgroup: Bool | None = Field(
        default=None,
        description="Send the final SIGKILL to the program's whole process group. Default: the value of `stopasgroup`.",
    )
    user: SystemUser | None = Field(
        default=None,
        description="User (name or uid) the program runs as; supervisord must run as root to switch. "
        "Default: supervisord's user.",
    )
    redirect_stderr: Bool | None = Field(
        default=None,
        description="Send the program's stderr into its stdout log (like `2>&1`). Not allowed for event "
        "listeners. Default `false`.",
    )
    stdout_logfile: LogFile | None = Field(
        default=None,
        description="File the program's stdout is written to: a path, `AUTO` (a file in `childlogdir`, removed "
        "when supervisord restarts) or `NONE` (discarded). supervisord expands this value twice, so a literal `%` "
        "is written `%%%%` here. Default `AUTO`.",
    )
    stdout_logfile_maxbytes: ByteSize | None = Field(
        default=None,
        description="Size at which the stdout log is rotated: bytes, or with a `KB`, `MB` or `GB` suffix; `0` "
        "never rotates. Default `50MB`.",
    )
    stdout_logfile_backups: int | None = Field(
        default=None, ge=0, description="Number of rotated stdout logs kept; `0` keeps none. Default `10`."
    )
    stdout_capture_maxbytes: ByteSize | None = Field(
        default=None,
        description="Size of the buffer for stdout capture mode (PROCESS_COMMUNICATION events); `0` disables "
        "capture mode. Default `0`.",
    )
    stdout_events_enabled: Bool | None = Field(
        default=None,
        description="Emit a PROCESS_LOG_STDOUT event whenever the program writes to stdout. Default `false`.",
    )
    stdout_syslog: Bool | None = Field(
        default=None,
        description="Also send stdout to syslog, each line prefixed with the process name. Default `false`.",
    )
    stderr_logfile: LogFile | None = Field(
        default=None,
        description="File the program's stderr is written to: a path, `AUTO` or `NONE`; ignored with "
        "`redirect_stderr`. supervisord expands this value twice, so a literal `%` is written `%%%%` here. "
        "Default `AUTO`.",
    )
    stderr_logfile_maxbytes: ByteSize | None = Field(
        default=None,
        description="Size at which the stderr log is rotated: bytes, or with a `KB`, `MB` or `GB` suffix; `0` "
        "never rotates. Default `50MB`.",
    )
    stderr_logfile_backups: int | None = Field(
        default=None, ge=0, description="Number of rotated stderr logs kept; `0` keeps none. Default `10`."
    )
    stderr_capture_maxbytes: ByteSize | None = Field(
        default=None,
        description="Size of the buffer for stderr capture mode (PROCESS_COMMUNICATION events); `0` disables "
        "capture mode. Default `0`.",
    )
    stderr_events_enabled: Bool | None = Field(
        default=None,
        description="Emit a PROCESS_LOG_STDERR event whenever the program writes to stderr. Default `false`.",
    )
    stderr_syslog: Bool | None = Field(
        default=None,
        description="Also send stderr to syslog, each line prefixed with the process name. Default `false`.",
    )
    environment: Environment | None = Field(
        default=None,
        description='Environment variables of the program, as a mapping (rendered `KEY="value",...`), added to '
        "supervisord's environment and `[supervisord] environment`. Values may hold spaces, commas, `=` and one "
        "kind of quote. Default: none added.",
    )
    directory: FilePath | None = Field(
        default=None,
        description="Directory the program runs in (supervisord changes to it before starting the program). "
        "Default: supervisord's directory.",
    )
    umask: Octal | None = Field(default=None, description="umask of the program, in octal. Default: supervisord's.")
    serverurl: Text | None = Field(
        default=None,
        description="Value of `SUPERVISOR_SERVER_URL` in the program's environment (for supervisorctl and XML-RPC "
        "clients it runs); `AUTO` picks supervisord's own server. Default `AUTO`.",
    )

    @model_validator(mode="after")
    def _numprocs_need_process_num(self) -> Self:
        if (self.numprocs or 1) > 1 and "%(process_num)" not in (self.process_name or ""):
            raise ValueError(
                f"numprocs is {self.numprocs}, so process_name must contain %(process_num) to give each process "
                f"its own name, e.g. '%(program_name)s_%(process_num)02d' (got process_name={self.process_name!r})"
            )
        return self

    @model_validator(mode="after")
    def _stopasgroup_implies_killasgroup(self) -> Self:
        if self.stopasgroup and self.killasgroup is False:
            raise ValueError("stopasgroup=true needs killasgroup=true (supervisord refuses killasgroup=false here)")
        return self

    @model_validator(mode="after")
    def _serverurl_is_auto_or_url(self) -> Self:
        url = self.serverurl
        if url is not None and url.upper() != "AUTO" and not re.match(r"(?:https?://[^/\s]|unix://.)", url):
            raise ValueError(f"serverurl: expected AUTO or an http:// or unix:// URL, got {url!r}")
        return self


class ProgramConfiguration(_ProcessKeys):
    """``[program:x]``: a program supervisord runs and watches."""


class EventListenerConfiguration(_ProcessKeys):
    """``[eventlistener:x]``: a program that receives supervisord's events on stdin."""

    buffer_size: int | None = Field(
        default=None,
        ge=1,
        description="Size of the pool's event queue; when full, the oldest event is dropped. Default `10`.",
    )
    events: EventNames | None = Field(
        default=None,
        description="Event types the listener subscribes to, e.g. `[PROCESS_STATE, TICK_60]` (rendered "
        "comma-separated). Required by supervisord.",
    )
    result_handler: Text | None = Field(
        default=None,
        description="`module:callable` that handles the listener's results. Default "
        "`supervisor.dispatchers:default_handler`.",
    )

    @model_validator(mode="after")
    def _no_redirect_stderr(self) -> Self:
        if self.redirect_stderr:
            raise ValueError("redirect_stderr=true is not allowed for an event listener (stdout carries its protocol)")
        return self


class FcgiProgramConfiguration(_ProcessKeys):
    """``[fcgi-program:x]``: a FastCGI program whose processes share a socket opened by supervisord."""

    socket: Text | None = Field(
        default=None,
        description="Socket the processes share: `tcp://host:port` or `unix:///absolute/path` (`%(here)s` and "
        "`%(program_name)s` are expanded). Required by supervisord.",
    )
    socket_backlog: int | None = Field(
        default=None, ge=1, le=65535, description="listen() backlog of the socket. Default: the system's `SOMAXCONN`."
    )
    socket_owner: UserGroup | None = Field(
        default=None,
        description="Owner of a unix socket, `user` or `user:group`. Default: the program's `user`, else "
        "supervisord's.",
    )
    socket_mode: Octal | None = Field(
        default=None, description="Permission bits of a unix socket, in octal. Default `0700`."
    )

    @model_validator(mode="after")
    def _check_socket(self) -> Self:
        socket = self.socket
        if socket is None:
            return self
        if not re.fullmatch(r"unix://(?:/|%\().*|tcp://[^\s:]+:\d+", socket):
            raise ValueError(f"socket: expected tcp://host:port or unix:///absolute/path, got {socket!r}")
        if not socket.startswith("unix://") and (self.socket_owner or self.socket_mode):
            raise ValueError("socket_owner and socket_mode apply to a unix:// socket only")
        return self


class GroupConfiguration(SectionModel):
    """``[group:x]``: programs managed together under one name."""

    programs: ProgramNames = Field(
        description="Names of the `[program:x]` or `[fcgi-program:x]` sections in the group (rendered comma-separated)."
    )
    priority: int | None = Field(
        default=None, description="Relative start order of the group: lower starts first. Default `999`."
    )


class IncludeConfiguration(SectionModel):
    """``[include]``: more configuration files to read."""

    space_separated = frozenset({"files"})

    files: FilePatterns = Field(
        description="Glob patterns of more configuration files, relative to this file's directory (rendered "
        "space-separated, so a pattern cannot contain whitespace), e.g. `[conf.d/*.conf]`."
    )


class RpcInterfaceConfiguration(SectionModel):
    """``[rpcinterface:x]``: an XML-RPC interface; further keys are passed to its factory as keyword arguments."""

    model_config = ConfigDict(extra="allow")

    rpcinterface_factory: Text = Field(
        alias="supervisor.rpcinterface_factory",
        description="`module:callable` that makes the interface, e.g. "
        "`supervisor.rpcinterface:make_main_rpcinterface` (the `supervisor.rpcinterface_factory` key).",
    )

    @model_validator(mode="before")
    @classmethod
    def _numbers_are_text(cls, data: Any) -> Any:
        # supervisord passes factory arguments as text; storing them as text keeps the round trip exact
        if isinstance(data, dict):
            return {k: str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v for k, v in data.items()}
        return data

    @model_validator(mode="after")
    def _check_factory_arguments(self) -> Self:
        for key, value in (self.model_extra or {}).items():
            if not re.fullmatch(r"[a-z_][a-z0-9_]*", key):
                raise ValueError(
                    f"factory argument {key!r}: use a lowercase identifier (supervisord lowercases keys and passes "
                    "them to the factory as keyword arguments)"
                )
            if not isinstance(value, str):
                raise ValueError(f"factory argument {key!r}: expected text, got {value!r}")
            check_text(value)
        return self
