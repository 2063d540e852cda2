"""How Airflow reaches a remote supervisord host over SSH."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from .base import SafePath

__all__ = ("SSHConfiguration",)


class SSHConfiguration(BaseModel):
    """SSH options for a supervisord running on another host.

    Give ``ssh_conn_id`` (an Airflow SSH connection, read inside the worker or the triggerer, so
    no secret is ever stored in a DAG or a trigger row) or ``host`` with the options below. When
    both are given, the explicit options override the connection's. A configuration may leave both
    out and get them where the DAG is built (``SupervisorRemote(..., ssh_conn_id=...)``).
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, hide_input_in_errors=True)

    ssh_conn_id: str | None = Field(
        default=None,
        description="Airflow connection id of type `ssh` to read host, port, user and key from. "
        "Resolved where the task or trigger runs; preferred over putting secrets in the configuration.",
    )
    host: str | None = Field(default=None, description="Remote host name or address to SSH to.")
    port: int = Field(default=22, ge=1, le=65535, description="SSH port of the remote host.")
    username: str | None = Field(
        default=None, description="Remote user. Defaults to the connection's login or the local user."
    )
    key_file: SafePath | None = Field(
        default=None, description="Private key file for public-key authentication. Default: the agent and ~/.ssh keys."
    )
    password: SecretStr | None = Field(
        default=None,
        description="SSH password. Prefer keys or `ssh_conn_id`; never logged or serialized into trigger rows.",
    )
    known_hosts: SafePath | None = Field(
        default=None,
        description="known_hosts file to verify the host key against. Default: ~/.ssh/known_hosts.",
    )
    check_host_key: bool = Field(
        default=True,
        description="Verify the remote host key against `known_hosts`. Turning this off exposes the "
        "connection to man-in-the-middle attacks; only do it on trusted networks or in tests.",
    )
    connect_timeout: float = Field(default=10.0, gt=0, description="Seconds to wait for the SSH handshake.")
    keepalive_interval: float = Field(
        default=15.0,
        ge=0,
        description="Seconds between SSH keepalives, so a silently dead connection is noticed "
        "(0 turns them off; not recommended).",
    )
    keepalive_count_max: int = Field(
        default=3, ge=1, description="Unanswered keepalives after which the connection is considered dead."
    )

    def require_target(self) -> SSHConfiguration:
        """Return ``self`` if it names a host (``host`` or ``ssh_conn_id``); raise ``ValueError`` saying so if not.

        A job file may leave the host out (as airflow-supervisor's did) and get it where the DAG is built,
        e.g. ``SupervisorRemote(dag=dag, cfg=cfg, ssh_conn_id="feed_host")``; whatever connects checks here.
        """
        if not self.ssh_conn_id and not self.host:
            raise ValueError(
                "no host to run supervisord on: set `ssh.host` or `ssh.ssh_conn_id` (an Airflow SSH connection "
                'id), or pass it where the DAG is built: SupervisorRemote(dag=dag, cfg=cfg, ssh_conn_id="...")'
            )
        return self

    @property
    def pool_key(self) -> tuple[str, int, str]:
        """Identity of the SSH connection in the pool: one connection per (host, port, user)."""
        return (self.host or f"conn:{self.ssh_conn_id}", self.port, self.username or "")
