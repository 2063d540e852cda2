"""The Airflow-facing configuration: what to run, where, and how Airflow watches it."""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import os
import re
import tempfile
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .base import ExitCodes, HttpUser, SafePath
from .control import JobControl
from .endpoint import XmlRpcEndpoint
from .errors import ConfigurationError, format_validation_error
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
_SOCKET_NAME = "supervisor.sock"
#: Folder name prefix of the private per-user base under the temp directory that holds default working dirs.
PRIVATE_BASE_PREFIX = "airflow-supervisor-async-"
_JOB_NAME = re.compile(r"[\w.-]+")
_ALL_INTERFACES = {"", "*", "0.0.0.0", "::", "[::]"}
_WARNED_PORTS: set[str] = set()


def _split_host_port(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected 'host:port' or a port number between 1 and 65535, got {value!r}")
    return host, int(port)


def _plain_password(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)  # YAML reads `password: 123456` as a number
    text = value.get_secret_value() if isinstance(value, SecretStr) else value
    if isinstance(text, str) and text.startswith("{SHA}"):
        raise ValueError(
            "Airflow's client sends this password to supervisord, so it must be the password itself, not a '{SHA}' "
            "digest (it is written to supervisord.conf as a digest)"
        )
    return value


def _exitcodes(value: Any) -> Any:
    """A single exit code (``exitcodes: 2``) is a list of one, as supervisord reads it."""
    return [value] if isinstance(value, int) and not isinstance(value, bool) else value


def _job_folder(job: str, budget: int) -> str:
    """``job``, or a shortened form with a hash of it, so that a path of ``budget`` bytes holds it."""
    if len(job.encode()) <= budget:
        return job
    digest = hashlib.sha1(job.encode(), usedforsecurity=False).hexdigest()[:10]
    head = job.encode()[: max(budget - len(digest) - 1, 1)].decode(errors="ignore")
    return f"{head}-{digest}"


def default_working_dir(temp_root: PurePosixPath | Path, owner: str, job: str) -> Path:
    """``<temp_root>/airflow-supervisor-async-<owner>/<job>``, the job's folder shortened to keep the socket path
    in ``<folder>/supervisor.sock`` within the kernel's 107 bytes."""
    base = Path(temp_root) / f"{PRIVATE_BASE_PREFIX}{owner}"
    budget = _MAX_SOCKET_PATH - len(str(base).encode()) - len(f"//{_SOCKET_NAME}")
    return base / _job_folder(job, max(budget, 12))


def _field_path(section: str) -> str:
    """``[program:feed]`` -> ``program.feed``: supervisord.conf section headers as configuration fields."""
    match = re.fullmatch(r"\[([\w-]+)(?::(.+))?\]", section)
    if match is None:
        return section
    field = match.group(1).replace("fcgi-program", "fcgiprogram")
    return f"{field}.{match.group(2)}" if match.group(2) else field


def job_name_for_file(path: str | os.PathLike[str]) -> str:
    """The job name of a configuration file used outside a DAG: its name and a hash of its absolute path."""
    absolute = os.path.abspath(path)
    stem = re.sub(r"[^\w.-]", "_", Path(absolute).stem).strip(".") or "config"
    return f"{stem}-{hashlib.sha1(absolute.encode(), usedforsecurity=False).hexdigest()[:8]}"


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

    model_config = ConfigDict(extra="forbid", validate_assignment=True, hide_input_in_errors=True)

    # -- XML-RPC endpoint ---------------------------------------------------------------
    port: str | None = Field(
        default=None,
        description="TCP `host:port` for supervisord's inet_http_server, e.g. `127.0.0.1:9001`. A bare port number "
        "binds to 127.0.0.1. `*:9001` listens on all interfaces: set `username` and `password` then. "
        "Default: no TCP listener, XML-RPC over the unix socket only.",
    )
    unix_socket: SafePath | None = Field(
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
    username: HttpUser | None = Field(
        default=None,
        description="HTTP basic-auth user required by supervisord's XML-RPC servers. Set together with `password` "
        "(or take both from `xmlrpc_conn_id`).",
    )
    password: Annotated[SecretStr, BeforeValidator(_plain_password)] | None = Field(
        default=None,
        description="HTTP basic-auth password. Written to the supervisord.conf as a `{SHA}` hash (file mode 0600); "
        "never logged or put in trigger rows. Refused in a DAG: use `xmlrpc_conn_id` there.",
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
    exitcodes: Annotated[ExitCodes, BeforeValidator(_exitcodes)] = Field(
        default_factory=lambda: [0],
        description="Exit codes that mean success (0-255): a program exiting with one of these is done, any other "
        "is failed.",
    )
    stopsignal: Signal = Field(default="TERM", description="Signal sent to stop a program.")
    stopwaitsecs: int = Field(
        default=30, ge=0, description="Seconds to wait after `stopsignal` before supervisord sends SIGKILL."
    )
    stopasgroup: bool = Field(
        default=True,
        description="Send the stop signal to the program's whole process group (its children too); needs "
        "`killasgroup`.",
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

    @field_validator("unix_socket")
    @classmethod
    def _absolute_socket(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_absolute():
            raise ValueError(f"expected an absolute path, got {str(value)!r}")
        return value

    @model_validator(mode="after")
    def _check_groups_and_credentials(self) -> Self:
        if self.stopasgroup and not self.killasgroup:
            raise ValueError(
                "killasgroup is false but stopasgroup is true: supervisord refuses that (stopasgroup implies "
                "killasgroup); set both, or stopasgroup to false"
            )
        if self.xmlrpc_conn_id is None and (self.username is None) != (self.password is None):
            given, missing = ("password", "username") if self.username is None else ("username", "password")
            raise ValueError(
                f"airflow.{given} is set without airflow.{missing}: supervisord needs both to require a login (else "
                f"it would serve XML-RPC without one); set airflow.{missing}, or take both from airflow.xmlrpc_conn_id"
            )
        return self

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
    job: str | None = Field(
        default=None,
        description="Name of the job: names the default `working_dir` and is recorded in the manifest the "
        "configure step writes there, so that two jobs never share a supervisord or each other's files. Default: "
        "the DAG id (`<dag_id>.<task_id_prefix>` when the prefix is not the DAG id), set by `Supervisor`; on the "
        "command line, the config file's name and a hash of its path; else `job-<hash of program names>`. Set it "
        "to reach a DAG's job from the command line.",
    )
    working_dir: SafePath | None = Field(
        default=None,
        description="Absolute path of the directory for supervisord's config, pid, logs, socket and program logs; it "
        "must be yours and writable by you only. Default: `<tmp>/airflow-supervisor-async-<uid>/<job>`, in a "
        "private (0700) folder of your own (remote hosts: `/tmp/airflow-supervisor-async-<ssh user>/<job>`).",
    )
    config_path: SafePath | None = Field(
        default=None,
        description="Where the rendered supervisord.conf is written (mode 0600). Relative paths are under "
        "`working_dir`. Default: `<working_dir>/supervisord.conf`.",
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
        default=None,
        gt=timedelta(0),
        description="Stop the job this long after the reference date (see `reference_date`).",
    )
    endtime: time | None = Field(
        default=None,
        description="Stop the job at this time of day (UTC), e.g. `17:00` for a 9-to-5 service. A time with a UTC "
        "offset (`17:00+02:00`) is converted to UTC.",
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
        description="Remove what the configure step created (config, `working_dir`) when the job ends; only that, "
        "as listed in its manifest. After a failed job the program logs are kept (the task log says where). Only "
        "applies with `stop_on_exit`.",
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

    @field_validator("job")
    @classmethod
    def _check_job(cls, value: str | None) -> str | None:
        if value is not None and (not _JOB_NAME.fullmatch(value) or not value.strip(".")):
            raise ValueError(
                f"invalid job name {value!r}: use letters, digits, '_', '.' and '-' (as in DAG ids), not only dots"
            )
        return value

    @field_validator("working_dir", "config_path")
    @classmethod
    def _check_paths(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is None:
            return value
        if ".." in value.parts:
            raise ValueError(f"{str(value)!r} contains '..'; write the path without it")
        if info.field_name == "working_dir":
            if not value.is_absolute():
                raise ValueError(f"expected an absolute path, got {str(value)!r} (it would depend on the current dir)")
            if value == Path(value.anchor):
                raise ValueError("the root folder cannot be a working_dir; use a folder of its own")
            if "%" in str(value):
                raise ValueError(f"{str(value)!r} contains '%', which supervisord would expand; use another folder")
        return value

    @field_validator("endtime")
    @classmethod
    def _endtime_in_utc(cls, value: time | None) -> time | None:
        if value is None or value.tzinfo is None:
            return value
        if value.utcoffset() is None:
            raise ValueError(
                f"endtime {value.isoformat()} has a time zone whose offset depends on the date; give a UTC offset "
                "(e.g. 17:00+02:00) or the UTC time"
            )
        return datetime.combine(date(2000, 1, 1), value).astimezone(UTC).time()

    @model_validator(mode="after")
    def _check_airflow_settings(self) -> Self:
        if not self.program:
            raise ValueError("program: at least one program is required")
        socket = self.resolved_unix_socket
        if len(str(socket).encode()) > _MAX_SOCKET_PATH:
            raise ValueError(
                f"airflow.unix_socket: path {str(socket)!r} is longer than the {_MAX_SOCKET_PATH} bytes a unix socket "
                "path may have; set a shorter `working_dir` or `airflow.unix_socket`"
            )
        for name, program in self.program.items():
            stop = self.airflow.stopasgroup if program.stopasgroup is None else program.stopasgroup
            kill = self.airflow.killasgroup if program.killasgroup is None else program.killasgroup
            if stop and not kill:
                raise ValueError(
                    f"program.{name}: killasgroup is false but stopasgroup is true (airflow.stopasgroup is the "
                    "default): supervisord refuses that; set stopasgroup: false on the program too"
                )
        self._check_renders()
        return self

    def _check_renders(self) -> None:
        """Refuse at construction what supervisord would refuse once the Airflow defaults are filled in."""
        try:
            problems = self.effective_configuration().incomplete()
        except ValidationError as exc:
            problems = format_validation_error(exc)
        if problems:
            raise ValueError("; ".join(f"{_field_path(where)}: {message}" for where, message in problems))

    # -- derived paths ---------------------------------------------------------------------
    @property
    def resolved_job(self) -> str:
        """``job``, or ``job-<hash of the program names>`` when none is set."""
        if self.job is not None:
            return self.job
        return "job-" + hashlib.sha1(",".join(sorted(self.program)).encode(), usedforsecurity=False).hexdigest()[:10]

    def _default_working_dir(self) -> Path:
        root = tempfile.gettempdir()
        root = root if len(root.encode()) <= 48 else "/tmp"  # leave room for a job name within the socket limit
        return default_working_dir(Path(root), str(os.getuid()), self.resolved_job)

    @property
    def resolved_working_dir(self) -> Path:
        """``working_dir``, or its stable default under the private per-user base."""
        return self.working_dir if self.working_dir is not None else self._default_working_dir()

    @property
    def default_working_dir_base(self) -> Path | None:
        """The private per-user folder holding the default ``working_dir`` (None when ``working_dir`` is set)."""
        return None if self.working_dir is not None else self._default_working_dir().parent

    def with_job(self, job: str) -> Self:
        """A copy of this configuration for job ``job`` (validated again: the default paths change)."""
        data = {name: getattr(self, name) for name in type(self).model_fields}
        return type(self).model_validate({**data, "job": job})

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
        return self.airflow.unix_socket or self.resolved_working_dir / _SOCKET_NAME

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
        username, password = self.airflow.username, self.airflow.password
        if username is None and password is None:
            return {}
        if username is None or password is None:  # only possible with credentials from xmlrpc_conn_id
            missing = "login" if username is None else "password"
            raise ValueError(
                f"airflow.xmlrpc_conn_id {self.airflow.xmlrpc_conn_id!r}: the connection has no {missing}; supervisord "
                "needs a username and a password together"
            )
        # the section model stores the SHA-1 digest, so the plain password never lands on disk
        return {"username": username, "password": password.get_secret_value()}

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
        """File mode of the rendered config: always 0600 (it may hold credentials; supervisord runs as you)."""
        return 0o600

    def write(self) -> Path:
        """Set up ``working_dir`` and write the config (over SSH for a remote job), with the checks of the
        configure step; return the config path.

        See ``host.lifecycle.write_config``: nothing is written for invalid input or a folder that is not yours.
        Blocking (a fresh event loop); inside a running loop await ``lifecycle.write_config`` instead.
        """
        from ..host import lifecycle
        from .control import _run

        return Path(str(_run(self, lambda host: lifecycle.write_config(host, self))))

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
        # The local uid and temp dir say nothing about the remote host: /tmp there, per remote user (or connection).
        owner = self.ssh.username or (f"conn-{self.ssh.ssh_conn_id}" if self.ssh.ssh_conn_id else "ssh")
        return default_working_dir(PurePosixPath("/tmp"), re.sub(r"[^\w.-]", "_", owner), self.resolved_job)

    def _ssh(self) -> SSHConfiguration | None:
        return self.ssh
