"""Supervisor jobs declared in airflow-config YAML: the task classes airflow-config needs, and ``SupervisorSSH``.

In an airflow-config file a job is one entry of a DAG's ``tasks``::

    tasks:
      run:
        _target_: airflow_supervisor_async.SupervisorTask      # or SupervisorSSHTask
        dependencies: [pre]
        cfg:
          _target_: airflow_supervisor_async.SupervisorAirflowConfiguration
          program: {feed: {command: python feed.py}}

airflow-config builds it as ``Supervisor(dag=dag, task_id="run", cfg={...})`` (and renders that call
into DAG code), so the block takes ``cfg`` as a mapping. The names are airflow-supervisor's
(``SupervisorTask``, ``SupervisorTaskArgs``, ``SupervisorSSHTask``, ...). Needs the ``airflow-config``
extra (airflow-pydantic).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, SerializeAsAny, field_validator

try:
    from airflow_pydantic import ImportPath, Task, TaskArgs
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "declaring supervisor jobs in airflow-config YAML needs the `airflow-config` extra: "
        'pip install "airflow-supervisor-async[airflow-config]"'
    ) from exc

from ..config import (
    ConfigurationError,
    SSHConfiguration,
    SupervisorAirflowConfiguration,
    SupervisorSSHAirflowConfiguration,
)
from ..config.loading import coerce_job
from .supervisor import Supervisor, SupervisorRemote

__all__ = (
    "SupervisorSSH",
    "SupervisorSSHTask",
    "SupervisorSSHTaskArgs",
    "SupervisorTask",
    "SupervisorTaskArgs",
)


def _plain(value: Any) -> Any:
    """A pydantic model (airflow-pydantic's Host, Port, Pool) as a mapping; anything else as it is."""
    return value.model_dump(exclude_unset=True) if hasattr(value, "model_dump") else value


def _ssh_from_host(host: Any, base: SSHConfiguration) -> SSHConfiguration:
    """SSH options from airflow-supervisor's ``host`` argument: a host name, or airflow-pydantic's ``Host``."""
    if isinstance(host, str):
        return base.model_copy(update={"host": host})
    data = _plain(host)
    if not isinstance(data, Mapping) or not data.get("name"):
        raise ConfigurationError([("host", f"expected a host name or an airflow-pydantic Host, got {host!r}")])
    if data.get("password") is not None:
        raise ConfigurationError(
            [
                (
                    "host.password",
                    "an SSH password is not read while the DAG is parsed: put the credentials in an Airflow SSH "
                    "connection and pass ssh_conn_id=..., or use key_file",
                )
            ]
        )
    hook_args = dict(data.get("ssh_hook_args") or {})
    update = {
        "host": data["name"],
        "username": data.get("username") or base.username,
        "key_file": data.get("key_file") or base.key_file,
        "ssh_conn_id": hook_args.pop("ssh_conn_id", None) or base.ssh_conn_id,
    }
    if hook_args:
        raise ConfigurationError(
            [("host.ssh_hook_args", f"not supported here: {sorted(hook_args)}; set them on the `ssh:` options")]
        )
    return SSHConfiguration.model_validate({**base.model_dump(exclude_unset=True), **update})


class SupervisorSSH(SupervisorRemote):
    """airflow-supervisor's ``SupervisorSSH(dag, cfg, host=..., port=...)``: a job on another host.

    :param host: the machine to SSH to: a name, or an airflow-pydantic ``Host`` (its name, username,
        key file and pool are used; a password is refused: use an Airflow SSH connection).
    :param port: a TCP port (or airflow-pydantic ``Port``) for supervisord to listen on, on all
        interfaces, as airflow-supervisor did; Airflow itself still reaches supervisord through SSH.
    """

    def __init__(
        self,
        dag: Any,
        cfg: SupervisorAirflowConfiguration | Mapping[str, Any],
        host: Any = None,
        port: Any = None,
        **kwargs: Any,
    ) -> None:
        job = coerce_job(cfg, remote=True)
        assert isinstance(job, SupervisorSSHAirflowConfiguration)
        update: dict[str, Any] = {}
        if host is not None:
            update["ssh"] = _ssh_from_host(host, job.ssh)
            pool = _plain(host).get("pool") if not isinstance(host, str) else None
            if pool and job.pool is None:
                update["pool"] = pool.get("pool") if isinstance(pool, Mapping) else pool
        if port is not None:
            number = _plain(port).get("port") if not isinstance(port, int) else port
            update["airflow"] = job.airflow.model_copy(update={"port": f"*:{number}"})
        if update:
            data = {name: getattr(job, name) for name in type(job).model_fields}
            job = SupervisorSSHAirflowConfiguration.model_validate({**data, **update})
        super().__init__(dag, job, **kwargs)


def _passwords(cfg: SupervisorAirflowConfiguration) -> list[str]:
    """Paths of the passwords a job holds (none may be rendered into DAG code)."""
    found = [
        f"cfg.{name}.password" for name in ("airflow", "ssh") if getattr(getattr(cfg, name, None), "password", None)
    ]
    for name in ("unix_http_server", "inet_http_server", "supervisorctl"):
        if getattr(getattr(cfg, name), "password", None):
            found.append(f"cfg.{name}.password")
    return found


class _NoSecretsRendered:
    """airflow-pydantic renders a ``SecretStr`` as its clear text; refuse to render a job holding a password."""

    def render(self, *args: Any, **kwargs: Any) -> Any:
        if found := _passwords(self.cfg):  # type: ignore[attr-defined]
            raise ConfigurationError(
                [
                    (
                        path,
                        "a password is never rendered into DAG code: put it in an Airflow connection "
                        "(airflow.xmlrpc_conn_id, ssh.ssh_conn_id) instead",
                    )
                    for path in found
                ]
            )
        return super().render(*args, **kwargs)  # type: ignore[misc]


class SupervisorTaskArgs(TaskArgs):
    """Task arguments of a supervisor job in airflow-config YAML: ``cfg`` plus any Airflow task argument."""

    cfg: SerializeAsAny[SupervisorAirflowConfiguration] = Field(description="The job.")


class SupervisorTask(_NoSecretsRendered, Task, SupervisorTaskArgs):
    """A supervisor job as an airflow-config task (``Supervisor``; an SSH ``cfg`` runs on another host)."""

    operator: ImportPath = Field(default="airflow_supervisor_async.Supervisor", validate_default=True)

    @field_validator("operator")
    @classmethod
    def _our_block(cls, value: Any) -> Any:
        if not (isinstance(value, type) and issubclass(value, Supervisor)):
            raise ValueError(f"operator must be airflow_supervisor_async.Supervisor or a subclass, got {value!r}")
        return value


class SupervisorSSHTaskArgs(TaskArgs):
    """Task arguments of a job on another host: ``cfg`` and, as in airflow-supervisor, ``host``/``port``."""

    cfg: SupervisorSSHAirflowConfiguration = Field(description="The job.")
    host: Any = Field(default=None, description="Host name or airflow-pydantic Host to SSH to (see SupervisorSSH).")
    port: Any = Field(default=None, description="TCP port for supervisord to listen on (see SupervisorSSH).")


class SupervisorSSHTask(_NoSecretsRendered, Task, SupervisorSSHTaskArgs):
    """A supervisor job on another host as an airflow-config task (``SupervisorSSH``)."""

    operator: ImportPath = Field(default="airflow_supervisor_async.SupervisorSSH", validate_default=True)

    @field_validator("operator")
    @classmethod
    def _our_block(cls, value: Any) -> Any:
        if not (isinstance(value, type) and issubclass(value, SupervisorRemote)):
            raise ValueError(f"operator must be airflow_supervisor_async.SupervisorSSH or a subclass, got {value!r}")
        return value
