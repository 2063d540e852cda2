"""The Airflow-facing configuration: what to run, where, and how Airflow watches it."""

from __future__ import annotations

import getpass
import hashlib
import ipaddress
import logging
import tempfile
from datetime import time, timedelta
from pathlib import Path, PurePosixPath
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from .base import ExitCodes
from .control import JobControl
from .endpoint import XmlRpcEndpoint
from .errors import ConfigurationError, format_validation_error
from .files import atomic_write_text
from .sections import (
    InetHttpServerConfiguration,
    ProgramConfiguration,
    SupervisorctlConfiguration,
    UnixHttpServerConfiguration,
)
from .ssh import SSHConfiguration
from .supervisor import SupervisorConfiguration

__all__ = ("AirflowConfiguration", "SupervisorAirflowConfiguration", "SupervisorSSHAirflowConfiguration")

log = logging.getLogger(__name__)

Signal = Literal["TERM", "HUP", "INT", "QUIT", "KILL", "USR1", "USR2"]

# The kernel limits a unix socket path (sun_path) to 108 bytes including the terminating NUL.
_MAX_SOCKET_PATH = 107
_ALL_INTERFACES = {"", "*", "0.0.0.0", "::", "[::]"}
_WARNED_PORTS: set[str] = set()


def _split_host_port(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected 'host:port' or a port number between 1 and 65535, got {value!r}")
    return host, int(port)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class AirflowConfiguration(BaseModel):
    """How Airflow reaches supervisord and the defaults it applies to every program.

    The XML-RPC endpoint is a unix socket in ``working_dir`` by default: nothing listens on
    the network. Set ``port`` to also serve XML-RPC over TCP (e.g. for the web UI).
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    # -- XML-RPC endpoint ---------------------------------------------------------------
    port: str | None = Field(
        default=None,
        description="TCP `host:port` for supervisord's inet_http_server, e.g. `127.0.0.1:9001`. A bare port number "
        "binds to 127.0.0.1. `*:9001` listens on all interfaces: set `username` and `password` then. "
        "Default: no TCP listener, XML-RPC over the unix socket only.",
    )
    unix_socket: Path | None = Field(
        default=None,
        description="Path of supervisord's unix_http_server socket (mode 0700). "
        "Default: `<working_dir>/supervisor.sock`.",
    )
    transport: Literal["unix", "tcp"] = Field(
        default="unix",
        description="Which endpoint Airflow's client uses: `unix` (the socket; through SSH for remote hosts) or `tcp` "
        "(`host` and the port of `port`).",
    )
    host: str = Field(
        default="127.0.0.1",
        description="Host the client connects to when `transport` is `tcp` "
        "(on the remote host, for SSH configurations).",
    )
    username: str | None = Field(
        default=None, description="HTTP basic-auth user required by supervisord's XML-RPC servers."
    )
    password: SecretStr | None = Field(
        default=None,
        description="HTTP basic-auth password. Written to the supervisord.conf as a `{SHA}` hash (file mode 0600); "
        "never logged or put in trigger rows.",
    )
    rpcpath: str = Field(default="/RPC2", description="HTTP path of supervisord's XML-RPC handler.")
    xmlrpc_conn_id: str | None = Field(
        default=None,
        description="Airflow connection whose login/password are the XML-RPC username/password. Use it instead of "
        "`password` for jobs monitored by the triggerer: the password is read where tasks and triggers run and never "
        "stored in a DAG file or a trigger row. Only the unix socket (the default) needs no password at all.",
    )

    # -- defaults applied to every program that does not set its own -------------------
    startsecs: int = Field(
        default=1, ge=0, description="Seconds a program must stay up after start to count as started (RUNNING)."
    )
    startretries: int | None = Field(
        default=None, ge=0, description="Spawn attempts before FATAL. Default: supervisord's (3)."
    )
    exitcodes: ExitCodes = Field(
        default_factory=lambda: [0],
        description="Exit codes that mean success (0-255): a program exiting with one of these is done, any other "
        "is failed.",
    )
    stopsignal: Signal = Field(default="TERM", description="Signal sent to stop a program.")
    stopwaitsecs: int = Field(
        default=30, ge=0, description="Seconds to wait after `stopsignal` before supervisord sends SIGKILL."
    )
    stopasgroup: bool = Field(
        default=True, description="Send the stop signal to the program's whole process group (its children too)."
    )
    killasgroup: bool = Field(default=True, description="Send the final SIGKILL to the whole process group.")

    @field_validator("port", mode="before")
    @classmethod
    def _port_to_host_port(cls, value: Any) -> Any:
        if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
            return f"127.0.0.1:{value}"
        return value

    @field_validator("port")
    @classmethod
    def _check_port(cls, value: str | None) -> str | None:
        if value is not None:
            _split_host_port(value)
        return value

    @field_validator("exitcodes", mode="before")
    @classmethod
    def _exitcodes_from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, int):
            return [value]
        return value

    @model_validator(mode="after")
    def _check_endpoint(self) -> Self:
        if self.transport == "tcp" and self.port is None:
            raise ValueError("transport is 'tcp' but no `port` is set; set `port` or use transport 'unix'")
        if self.port is not None and (self.username is None or self.password is None):
            bind_host, port = _split_host_port(self.port)
            if not _is_loopback(bind_host) and self.port not in _WARNED_PORTS:
                _WARNED_PORTS.add(self.port)  # once per process: DAG files are parsed over and over
                where = "all interfaces" if bind_host in _ALL_INTERFACES else bind_host
                log.warning(
                    "supervisord XML-RPC will listen on %s port %d WITHOUT username/password: anyone who can reach "
                    "that port can stop, start and signal your programs, read their logs and shut supervisord down. "
                    "Bind to 127.0.0.1, use the default unix socket, or set airflow.username and airflow.password.",
                    where,
                    port,
                )
        return self


class SupervisorAirflowConfiguration(JobControl, SupervisorConfiguration):
    """A supervisord with its programs, run and watched by Airflow on the worker's host.

    Section fields (``program``, ``supervisord``, ...) are supervisord.conf as you would write it;
    what you leave unset is filled with Airflow-friendly defaults when rendered: programs do not
    autostart or autorestart (Airflow decides), logs go to ``<working_dir>/<program>/``, and
    XML-RPC is served on a private unix socket.
    """

    airflow: AirflowConfiguration = Field(
        default_factory=AirflowConfiguration, description="How Airflow reaches supervisord; program defaults."
    )
    working_dir: Path | None = Field(
        default=None,
        description="Directory for supervisord's config, pid, logs, socket and program logs. Default: "
        "`<tmp>/supervisor-<user>-<hash of program names>` (stable across tasks and DAG runs).",
    )
    config_path: Path | None = Field(
        default=None,
        description="Where the rendered supervisord.conf is written. Relative paths are under `working_dir`. "
        "Default: `<working_dir>/supervisord.conf`.",
    )

    # -- monitoring ----------------------------------------------------------------------
    check_interval: timedelta = Field(
        default=timedelta(seconds=5), gt=timedelta(0), description="Time between two polls of the programs' state."
    )
    check_timeout: timedelta = Field(
        default=timedelta(hours=8),
        gt=timedelta(0),
        description="Longest time one DAG run watches the programs; at the end the job continues in a new DAG run "
        "(always-on jobs) unless `runtime`/`endtime` ended it first.",
    )
    runtime: timedelta | None = Field(
        default=None, description="Stop the job this long after the reference date (see `reference_date`)."
    )
    endtime: time | None = Field(
        default=None, description="Stop the job at this time of day (UTC), e.g. `17:00` for a 9-to-5 service."
    )
    maxretrigger: int | None = Field(
        default=None, ge=0, description="Most times the job continues into a new DAG run. Default: no limit."
    )
    max_restarts: int | None = Field(
        default=3,
        ge=0,
        description="How often failed programs are restarted (while still watched without a worker slot) before "
        "the job fails. The count carries over into continuation DAG runs. `null` means no limit.",
    )
    unreachable_timeout: timedelta = Field(
        default=timedelta(minutes=1),
        gt=timedelta(0),
        description="How long supervisord may stay unreachable (retried with backoff) before the job fails.",
    )
    log_tail_bytes: int = Field(
        default=4096,
        ge=0,
        le=1_048_576,
        description="Bytes of stdout and stderr of a failed program copied into the Airflow task log.",
    )
    reference_date: Literal["start_date", "logical_date", "data_interval_end"] = Field(
        default="data_interval_end",
        description="Which date of the DAG run `runtime` counts from. Airflow runs a schedule at the end of its "
        "data interval, hence the default.",
    )
    pool: str | None = Field(default=None, description="Airflow pool for the job's tasks. Default: `default_pool`.")
    stop_on_exit: bool = Field(default=True, description="Stop the programs and supervisord when the job ends.")
    cleanup: bool = Field(
        default=True,
        description="Remove the configuration and `working_dir` when the job ends. Only applies with `stop_on_exit`.",
    )
    restart_on_initial: bool = Field(
        default=False,
        description="Restart programs already running when a DAG run starts from the schedule or by hand "
        "(not a continuation). Useful for jobs left running with `stop_on_exit: false`.",
    )
    restart_on_retrigger: bool = Field(
        default=False, description="Restart programs already running when the job continues in a new DAG run."
    )

    @model_validator(mode="before")
    @classmethod
    def _seed_layout(cls, data: Any) -> Any:
        from .legacy import upgrade_job_layout  # airflow-supervisor's top-level keys, moved with a warning

        return upgrade_job_layout(data, remote="ssh" in cls.model_fields)

    @model_validator(mode="after")
    def _check_airflow_settings(self) -> Self:
        if not self.program:
            raise ValueError("program: at least one program is required")
        if "%" in str(self.resolved_working_dir):
            raise ValueError(f"working_dir must not contain '%' (supervisord expands it), got {self.working_dir}")
        socket = self.resolved_unix_socket
        if len(str(socket).encode()) > _MAX_SOCKET_PATH:
            raise ValueError(
                f"airflow.unix_socket: path {str(socket)!r} is longer than the {_MAX_SOCKET_PATH} bytes a unix socket "
                "path may have; set a shorter `working_dir` or `airflow.unix_socket`"
            )
        return self

    # -- derived paths ---------------------------------------------------------------------
    def _default_working_dir(self) -> Path:
        digest = hashlib.sha1(",".join(sorted(self.program)).encode(), usedforsecurity=False).hexdigest()[:10]
        return Path(tempfile.gettempdir()) / f"supervisor-{getpass.getuser()}-{digest}"

    @property
    def resolved_working_dir(self) -> Path:
        """``working_dir``, or its stable default."""
        return self.working_dir if self.working_dir is not None else self._default_working_dir()

    @property
    def resolved_config_path(self) -> Path:
        """Absolute path of the rendered supervisord.conf."""
        if self.config_path is None:
            return self.resolved_working_dir / "supervisord.conf"
        if not self.config_path.is_absolute():
            return self.resolved_working_dir / self.config_path
        return self.config_path

    @property
    def resolved_unix_socket(self) -> Path:
        """Path of supervisord's unix socket."""
        return self.airflow.unix_socket or self.resolved_working_dir / "supervisor.sock"

    @property
    def resolved_pidfile(self) -> Path:
        """supervisord's pid file."""
        return (
            Path(self.supervisord.pidfile)
            if self.supervisord.pidfile
            else self.resolved_working_dir / "supervisord.pid"
        )

    def program_log_paths(self, name: str) -> tuple[Path, Path]:
        """(stdout, stderr) log files of program ``name`` as rendered."""
        program = self.effective_configuration().program[name]
        return Path(str(program.stdout_logfile)), Path(str(program.stderr_logfile or program.stdout_logfile))

    # -- rendering -------------------------------------------------------------------------
    def _program_defaults(self, name: str, program: ProgramConfiguration) -> dict[str, Any]:
        airflow, folder = self.airflow, self.resolved_working_dir / name
        # Several processes of one program need one log file each (process_name is not an expansion there).
        stem = "%(process_num)d-" if (program.numprocs or 1) > 1 else ""
        defaults: dict[str, Any] = {
            "autostart": False,
            "autorestart": False,
            "directory": folder,
            "startsecs": airflow.startsecs,
            "exitcodes": airflow.exitcodes,
            "stopsignal": airflow.stopsignal,
            "stopwaitsecs": airflow.stopwaitsecs,
            "stopasgroup": airflow.stopasgroup,
            "killasgroup": airflow.killasgroup,
            "stdout_logfile": folder / f"{stem}output.log",
        }
        if not program.redirect_stderr:
            defaults["stderr_logfile"] = folder / f"{stem}error.log"
        if airflow.startretries is not None:
            defaults["startretries"] = airflow.startretries
        return defaults

    def _http_auth(self) -> dict[str, Any]:
        if self.airflow.username is None or self.airflow.password is None:
            return {}
        secret = self.airflow.password.get_secret_value()
        if not secret.startswith("{SHA}"):
            # supervisord accepts a SHA-1 hex digest, so the plain password never lands on disk
            secret = "{SHA}" + hashlib.sha1(secret.encode(), usedforsecurity=False).hexdigest()
        return {"username": self.airflow.username, "password": secret}

    def effective_configuration(self) -> SupervisorConfiguration:
        """The plain supervisord configuration that is rendered: sections plus Airflow defaults filled in.

        Values set explicitly in the sections always win over the defaults.
        """
        wd = self.resolved_working_dir
        data = {name: getattr(self, name) for name in SupervisorConfiguration.model_fields}
        supervisord = {
            "directory": wd,
            "pidfile": self.resolved_pidfile,
            "logfile": wd / "supervisord.log",
            "childlogdir": wd,
            "nodaemon": False,
        }
        data["supervisord"] = type(self.supervisord).model_validate(
            {**supervisord, **self.supervisord.model_dump(exclude_none=True)}
        )
        auth = self._http_auth()
        data["unix_http_server"] = UnixHttpServerConfiguration.model_validate(
            {
                "file": self.resolved_unix_socket,
                "chmod": "0700",
                **auth,
                **(self.unix_http_server.model_dump(exclude_none=True) if self.unix_http_server else {}),
            }
        )
        if self.airflow.port is not None or self.inet_http_server is not None:
            given = self.inet_http_server.model_dump(exclude_none=True) if self.inet_http_server else {}
            data["inet_http_server"] = InetHttpServerConfiguration.model_validate(
                {"port": self.airflow.port, **auth, **given}
            )
        data["supervisorctl"] = SupervisorctlConfiguration.model_validate(
            {
                "serverurl": f"unix://{self.resolved_unix_socket}",
                **(self.supervisorctl.model_dump(exclude_none=True) if self.supervisorctl else {}),
            }
        )
        data["program"] = {
            name: ProgramConfiguration.model_validate(
                {**self._program_defaults(name, program), **program.model_dump(exclude_none=True)}
            )
            for name, program in self.program.items()
        }
        return SupervisorConfiguration.model_validate(data)

    def to_conf(self) -> str:
        """Render the supervisord.conf text, Airflow defaults included (raises ``ConfigurationError``)."""
        try:
            effective = self.effective_configuration()
        except ValidationError as exc:  # a default combined with a value given elsewhere; name the rendered field
            raise ConfigurationError(format_validation_error(exc)) from exc
        return effective.to_conf()

    def config_file_mode(self) -> int:
        """File mode of the rendered config: 0600 whenever it holds a password hash."""
        return 0o600 if self.airflow.password is not None else 0o644

    def write(self) -> Path:
        """Create ``working_dir`` (mode 0700) and the program folders, then write the config atomically.

        Returns the config path. Only a valid configuration can exist, so nothing is written
        for invalid input.
        """
        text = self.to_conf()
        wd = self.resolved_working_dir
        wd.mkdir(mode=0o700, parents=True, exist_ok=True)
        for name in self.program:
            (wd / name).mkdir(mode=0o700, exist_ok=True)
        path = self.resolved_config_path
        atomic_write_text(path, text, mode=self.config_file_mode())
        return path

    # -- client side -------------------------------------------------------------------------
    def xmlrpc_endpoint(self) -> XmlRpcEndpoint:
        """Where Airflow's client reaches this supervisord's XML-RPC interface."""
        airflow = self.airflow
        common: dict[str, Any] = {
            "rpcpath": airflow.rpcpath,
            "username": airflow.username,
            "password": airflow.password,
            "ssh": self._ssh(),
            "conn_id": airflow.xmlrpc_conn_id,
        }
        if airflow.transport == "tcp" and airflow.port is not None:
            bind_host, port = _split_host_port(airflow.port)
            host = airflow.host if bind_host in _ALL_INTERFACES else bind_host
            return XmlRpcEndpoint(host=host, port=port, **common)
        return XmlRpcEndpoint(unix_socket=self.resolved_unix_socket, **common)

    def _ssh(self) -> SSHConfiguration | None:
        return None

    # -- loading -------------------------------------------------------------------------------
    @classmethod
    def load(cls, source: str | Path, overrides: list[str] | tuple[str, ...] = (), *, key: str | None = None) -> Self:
        """Load from a YAML file path or YAML text, with OmegaConf interpolation and dotlist overrides.

        ``overrides`` are ``dotted.key=value`` strings (``program.feed.command="python feed.py"``).
        YAML written for airflow-config (``_target_`` keys, the configuration under
        ``extensions.<key>``) is accepted; ``key`` picks the extension when there are several.
        Raises ``ConfigurationError`` naming every invalid field.
        """
        from .loading import load_configuration

        return load_configuration(cls, source, overrides, key=key)


class SupervisorSSHAirflowConfiguration(SupervisorAirflowConfiguration):
    """A supervisord on another host, set up over SSH and watched through an SSH tunnel.

    Paths (``working_dir``, ``config_path``, ``airflow.unix_socket``) are paths on the remote
    host. The remote supervisord needs no network listener: XML-RPC goes through the SSH
    connection to its unix socket.
    """

    ssh: SSHConfiguration = Field(
        default_factory=SSHConfiguration,
        description="How to reach the remote host. May be left out here and given where the DAG is built "
        "(`SupervisorRemote(..., ssh_conn_id=...)`).",
    )
    command_prefix: str = Field(
        default="",
        description="Shell text put before every remote command, e.g. `source ~/venv/bin/activate &&`, so that "
        "`supervisord` is found on the remote PATH.",
    )

    def _default_working_dir(self) -> Path:
        # The local user and temp dir say nothing about the remote host: use a fixed /tmp path there.
        digest = hashlib.sha1(",".join(sorted(self.program)).encode(), usedforsecurity=False).hexdigest()[:10]
        return Path(PurePosixPath("/tmp") / f"supervisor-{digest}")

    def _ssh(self) -> SSHConfiguration | None:
        return self.ssh
