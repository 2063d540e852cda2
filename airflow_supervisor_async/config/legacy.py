"""airflow-supervisor's names and file layout, read into this package's models.

airflow-supervisor 1.x (with supervisor-pydantic) kept the XML-RPC and program defaults at the top
level of a job (``port``, ``username``, ``password``, ``startsecs``, ...) and the SSH options in
``ssh_operator_args``. ``upgrade_job_layout`` moves each such key to its place here (``airflow.port``,
``ssh.host``, ...) and warns with ``LegacyLayoutWarning`` naming the new key; a key whose meaning is
gone is dropped with a warning saying what replaces it, and a value that would change meaning is
refused. Nothing is reinterpreted silently.

``SEED_NAMES`` maps the public names of ``airflow_supervisor`` and ``supervisor_pydantic`` to ours;
the loaders use it for ``_target_`` keys and ``compat`` for imports of the old module names.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .base import SectionModel

__all__ = ("GONE", "SEED_NAMES", "LegacyLayoutWarning", "section_text", "seed_name", "upgrade_job_layout")

STANDARD_RPCINTERFACE = "supervisor.rpcinterface:make_main_rpcinterface"


class LegacyLayoutWarning(DeprecationWarning):
    """A configuration uses airflow-supervisor's layout; the message names the key to write instead."""


# Shown once per place even where DeprecationWarning is hidden (DAG files, scripts): the user must see it.
warnings.filterwarnings("default", category=LegacyLayoutWarning)

#: seed public name -> (our module below ``airflow_supervisor_async``, our name)
SEED_NAMES: dict[str, tuple[str, str]] = {
    # configuration models (supervisor-pydantic and airflow-supervisor)
    **{
        name: ("config", name)
        for name in (
            "AirflowConfiguration",
            "EventListenerConfiguration",
            "FcgiProgramConfiguration",
            "GroupConfiguration",
            "IncludeConfiguration",
            "InetHttpServerConfiguration",
            "ProgramConfiguration",
            "RpcInterfaceConfiguration",
            "SSHConfiguration",
            "SupervisorAirflowConfiguration",
            "SupervisorConfiguration",
            "SupervisorSSHAirflowConfiguration",
            "SupervisorctlConfiguration",
            "SupervisordConfiguration",
            "UnixHttpServerConfiguration",
            "load_airflow_config",
            "load_airflow_ssh_config",
            "load_config",
            "load_convenience_config",
        )
    },
    "SupervisorConvenienceConfiguration": ("config", "SupervisorAirflowConfiguration"),
    "ConvenienceConfiguration": ("config", "AirflowConfiguration"),
    # value types
    "HostPort": ("config.base", "HostPort"),
    "LogLevel": ("config.base", "LogLevel"),
    "Octal": ("config.base", "Octal"),
    "OctalUmask": ("config.base", "Octal"),
    "Signal": ("config.base", "Signal"),
    "UnixUserNameOrGroup": ("config.base", "UserGroup"),
    # client
    "ProcessInfo": ("client", "ProcessInfo"),
    "ProcessState": ("client", "ProcessState"),
    "SupervisorState": ("client", "SupervisorStateCode"),  # the seed's is the enum of states
    "SupervisorMethodResult": ("client", "Faults"),
    "SupervisorRemoteXMLRPCClient": ("sync", "SupervisorSyncClient"),
    # Airflow
    "Supervisor": ("dags", "Supervisor"),
    "SupervisorSSH": ("dags.airflow_config", "SupervisorSSH"),
    "SupervisorTask": ("dags.airflow_config", "SupervisorTask"),
    "SupervisorTaskArgs": ("dags.airflow_config", "SupervisorTaskArgs"),
    "SupervisorOperator": ("dags.airflow_config", "SupervisorTask"),
    "SupervisorOperatorArgs": ("dags.airflow_config", "SupervisorTaskArgs"),
    "SupervisorSSHTask": ("dags.airflow_config", "SupervisorSSHTask"),
    "SupervisorSSHTaskArgs": ("dags.airflow_config", "SupervisorSSHTaskArgs"),
    "SupervisorSSHOperator": ("dags.airflow_config", "SupervisorSSHTask"),
    "SupervisorSSHOperatorArgs": ("dags.airflow_config", "SupervisorSSHTaskArgs"),
}

#: seed public names with no meaning here -> what replaces them (said in the error instead of "no such name")
GONE: dict[str, str] = {
    "SupervisorLocation": "the configuration class decides: SupervisorAirflowConfiguration runs on the worker's host, "
    "SupervisorSSHAirflowConfiguration (or SupervisorRemote) on another host",
    "UnixUserName": "a plain str (airflow.username)",
    "ProcessLogChunk": "SupervisorClient.tail_process_stdout_log / tail_process_stderr_log return a LogTail",
    "SSHOperatorArgs": "SSHConfiguration (`ssh:`); SSHOperator is not used, commands run over asyncssh",
    "SupervisorTaskStep": "the step names in airflow_supervisor_async.decisions.STEPS",
    "check_supervisor_health": "`airflow-supervisor-async status CONFIG`, or "
    "SupervisorSyncClient(cfg).get_all_process_info()",
    **dict.fromkeys(
        (
            "write_supervisor_config",
            "start_supervisor",
            "start_programs",
            "check_programs",
            "restart_programs",
            "stop_programs",
            "stop_supervisor",
            "kill_supervisor",
            "remove_supervisor_config",
            "main",
        ),
        "the `airflow-supervisor-async` command (up, start, status, stop, down) or the job's sync methods "
        "(cfg.write(), cfg.start(), cfg.running(), cfg.stop(), cfg.kill(), cfg.remove())",
    ),
}


def seed_name(name: str) -> tuple[str, str] | None:
    """``(module, name)`` of our object for a public name of airflow-supervisor or supervisor-pydantic."""
    return SEED_NAMES.get(name)


# section model class -> supervisord.conf section prefix
_SECTION_PREFIXES = {
    "SupervisordConfiguration": "supervisord",
    "SupervisorctlConfiguration": "supervisorctl",
    "UnixHttpServerConfiguration": "unix_http_server",
    "InetHttpServerConfiguration": "inet_http_server",
    "IncludeConfiguration": "include",
    "ProgramConfiguration": "program",
    "GroupConfiguration": "group",
    "EventListenerConfiguration": "eventlistener",
    "FcgiProgramConfiguration": "fcgi-program",
    "RpcInterfaceConfiguration": "rpcinterface",
}


def section_text(section: SectionModel, key: str = "") -> str:
    """One section as supervisord.conf text: ``[prefix]``, or ``[prefix:key]`` for named sections."""
    from .supervisor import _section_text

    prefix = next(
        (_SECTION_PREFIXES[c.__name__] for c in type(section).__mro__ if c.__name__ in _SECTION_PREFIXES), None
    )
    if prefix is None:
        raise TypeError(f"{type(section).__name__} is not a supervisord.conf section")
    return _section_text(f"[{prefix}:{key}]" if key else f"[{prefix}]", section)


# -- the job file layout ------------------------------------------------------------------------
_TO_AIRFLOW = (
    "startsecs",
    "startretries",
    "exitcodes",
    "stopsignal",
    "stopwaitsecs",
    "stopasgroup",
    "killasgroup",
    "username",
    "password",
    "rpcpath",
)
# SSHOperator arguments (``ssh_operator_args``, or top-level in airflow-supervisor < 1.5) with a place here
_SSH_ARGUMENTS = {"ssh_conn_id": "ssh.ssh_conn_id", "remote_host": "ssh.host", "conn_timeout": "ssh.connect_timeout"}
_SSH_IGNORED = {
    "cmd_timeout": "each remote command has its own deadline",
    "get_pty": "remote commands never need a terminal",
    "banner_timeout": "`ssh.connect_timeout` bounds the whole handshake",
    "skip_on_exit_code": "a failed remote command fails its task",
    "ssh_hook": "give `ssh.ssh_conn_id` (an Airflow SSH connection) instead",
}
_DROPPED = {
    "command_timeout": "each step has its own deadline (e.g. cfg.start(timeout=...))",
    "forward_logs": "the last `log_tail_bytes` of a failed program's stdout and stderr always go to the task log",
    "log_chunk_size": "see `log_tail_bytes` (what a failed program leaves in the task log)",
}


def _warn(old: str, new: str) -> None:
    warnings.warn(f"airflow-supervisor layout: `{old}` {new}", LegacyLayoutWarning, stacklevel=_stacklevel())


_LIBRARIES = ("airflow_supervisor_async", "pydantic", "hydra", "omegaconf", "airflow_config", "airflow_pydantic")


def _stacklevel() -> int:
    """The ``stacklevel`` for ``warnings.warn`` in ``_warn`` that points at the user's code, past the libraries."""
    frame, level = sys._getframe(2), 2  # the caller of _warn is stacklevel 2 there
    while frame.f_back is not None and frame.f_globals.get("__name__", "").startswith(_LIBRARIES):
        frame, level = frame.f_back, level + 1
    return level


def _as_dict(value: Any, key: str) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    if hasattr(value, "model_dump"):
        return dict(value.model_dump(exclude_unset=True))
    raise ValueError(f"{key}: expected a mapping, got {type(value).__name__}")


class _Layout:
    """The job's data being moved; one method per kind of legacy key."""

    def __init__(self, data: Mapping[str, Any], *, remote: bool) -> None:
        self.data = dict(data)
        self.remote = remote

    def put(self, old: str, path: str, value: Any) -> None:
        """Set ``path`` (``section.key``) to ``value`` unless it already holds a different value."""
        section, _, key = path.partition(".")
        target = _as_dict(self.data.get(section), section)
        if key in target and target[key] != value:
            raise ValueError(
                f"`{old}` (airflow-supervisor's layout) and `{path}` are both set, to different values; keep `{path}`"
            )
        target[key] = value
        self.data[section] = target
        _warn(old, f"is read as `{path}`; write `{path}` instead")

    def check_credentials(self) -> None:
        airflow = self.data.get("airflow")
        if isinstance(airflow, Mapping) and airflow.get("password") is not None and airflow.get("username") is None:
            # airflow-supervisor wrote such a password alone into [inet_http_server]: supervisord 4 refuses to start
            raise ValueError(
                "password: supervisord refuses a password without a username; set `airflow.username` too, or "
                "leave both out (the default unix socket needs no password)"
            )

    def port(self, value: Any) -> None:
        if isinstance(value, int) and not isinstance(value, bool):
            # airflow-supervisor read a bare port number as all interfaces; a bare number here means 127.0.0.1
            value = f"*:{value}"
        self.put("port", "airflow.port", value)

    def host(self, value: Any) -> None:
        # airflow-supervisor's `host` was where its XML-RPC client connected: the remote machine for SSH jobs
        self.put("host", "ssh.host" if self.remote else "airflow.host", value)

    def protocol(self, value: Any) -> None:
        if str(value).lower() != "http":
            raise ValueError(f"protocol: supervisord's XML-RPC speaks http only, got {value!r}")
        _warn("protocol", "is dropped: the client speaks HTTP (over a unix socket, TCP or SSH)")

    def rpcinterface_factory(self, value: Any) -> None:
        if value == STANDARD_RPCINTERFACE:
            _warn("rpcinterface_factory", "is dropped: the standard [rpcinterface:supervisor] is always configured")
            return
        interfaces = _as_dict(self.data.get("rpcinterface"), "rpcinterface")
        interfaces["supervisor"] = {
            **_as_dict(interfaces.get("supervisor"), "rpcinterface.supervisor"),
            "rpcinterface_factory": value,
        }
        self.data["rpcinterface"] = interfaces
        _warn("rpcinterface_factory", "is read as `rpcinterface.supervisor.rpcinterface_factory`; write that instead")

    def local_or_remote(self, value: Any) -> None:
        expected = "remote" if self.remote else "local"
        if value != expected:
            raise ValueError(
                f"local_or_remote: {value!r} does not match this {expected} configuration; the class decides where "
                "supervisord runs: SupervisorSSHAirflowConfiguration (or SupervisorRemote) for another host"
            )
        _warn("local_or_remote", "is dropped: the configuration class says where supervisord runs")

    def ssh_argument(self, key: str, value: Any, origin: str) -> None:
        if value is None:
            return
        if key in _SSH_ARGUMENTS:
            self.put(origin, _SSH_ARGUMENTS[key], value)
        elif key == "environment":
            supervisord = _as_dict(self.data.get("supervisord"), "supervisord")
            supervisord["environment"] = {**_as_dict(value, origin), **_as_dict(supervisord.get("environment"), "")}
            self.data["supervisord"] = supervisord
            _warn(origin, "is read as `supervisord.environment` (inherited by the programs); write that instead")
        elif key in _SSH_IGNORED:
            _warn(origin, f"is dropped: {_SSH_IGNORED[key]}")
        else:
            _warn(origin, "is dropped: pass Airflow task arguments to Supervisor(...) as keyword arguments")

    def ssh_operator_args(self, value: Any) -> None:
        for key, item in _as_dict(value, "ssh_operator_args").items():
            self.ssh_argument(key, item, f"ssh_operator_args.{key}")


def upgrade_job_layout(data: Any, *, remote: bool) -> Any:
    """Move airflow-supervisor's top-level keys of a job to their place here, warning for each one.

    ``remote`` is True for SSH configurations (``host`` then names the machine to SSH to). Input that
    is not a mapping, or has no such keys, is returned as it is.
    """
    if not isinstance(data, Mapping):
        return data
    layout = _Layout(data, remote=remote)
    moved = [key for key in layout.data if _is_legacy(key, remote=remote)]
    for key in moved:
        value = layout.data.pop(key)
        if key in _TO_AIRFLOW:
            layout.put(key, f"airflow.{key}", value)
        elif key in _DROPPED:
            _warn(key, f"is dropped: {_DROPPED[key]}")
        elif key in _METHODS or key == "ssh_operator_args":
            getattr(layout, key)(value)
        else:
            layout.ssh_argument(key, value, key)
    if "password" in moved:
        layout.check_credentials()
    return layout.data


_METHODS = ("port", "host", "protocol", "rpcinterface_factory", "local_or_remote")
_REMOTE_ONLY = frozenset({"ssh_operator_args", "environment", *_SSH_ARGUMENTS, *_SSH_IGNORED})


def _is_legacy(key: str, *, remote: bool) -> bool:
    if key in _TO_AIRFLOW or key in _DROPPED or key in _METHODS:
        return True
    return remote and key in _REMOTE_ONLY
