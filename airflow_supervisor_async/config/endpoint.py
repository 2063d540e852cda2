"""Where and how to reach a supervisord's XML-RPC interface."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from .ssh import SSHConfiguration

__all__ = ("XmlRpcEndpoint",)


class XmlRpcEndpoint(BaseModel):
    """The XML-RPC endpoint of one supervisord, as the client needs it.

    Exactly one of ``unix_socket`` or ``port`` is set. With ``ssh`` set, both are addresses
    *on the remote host*, reached through an SSH channel; otherwise they are local.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    unix_socket: Path | None = Field(default=None, description="Path of supervisord's unix_http_server socket.")
    host: str = Field(default="127.0.0.1", description="Host of supervisord's inet_http_server (TCP).")
    port: int | None = Field(default=None, ge=1, le=65535, description="Port of supervisord's inet_http_server.")
    rpcpath: str = Field(default="/RPC2", description="HTTP path of the XML-RPC handler.")
    username: str | None = Field(default=None, description="HTTP basic-auth user configured in supervisord.")
    password: SecretStr | None = Field(default=None, description="HTTP basic-auth password configured in supervisord.")
    ssh: SSHConfiguration | None = Field(default=None, description="Reach the endpoint through this SSH host.")
    conn_id: str | None = Field(
        default=None,
        description="Airflow connection whose login/password are the XML-RPC username/password, resolved where "
        "the call runs (worker or triggerer) so the password is never stored in a DAG or a trigger row.",
    )

    @model_validator(mode="after")
    def _one_address(self) -> XmlRpcEndpoint:
        if (self.unix_socket is None) == (self.port is None):
            raise ValueError("endpoint: set exactly one of `unix_socket` or `port`")
        return self

    def describe(self) -> str:
        """Human-readable address without secrets, for logs and error messages."""
        where = f"unix://{self.unix_socket}" if self.unix_socket else f"http://{self.host}:{self.port}"
        if self.ssh:
            return f"{where} via ssh://{self.ssh.username + '@' if self.ssh.username else ''}" + (
                f"{self.ssh.host}:{self.ssh.port}" if self.ssh.host else f"conn:{self.ssh.ssh_conn_id}"
            )
        return where
