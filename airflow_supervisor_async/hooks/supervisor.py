"""``SupervisorHook``: an async supervisord client whose secrets come from Airflow connections."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk.bases.hook import BaseHook

from ..client import SupervisorClient
from ..config import XmlRpcEndpoint
from .ssh import airflow_pool, read_connection

if TYPE_CHECKING:
    from airflow.sdk.definitions.connection import Connection

__all__ = ("SupervisorHook", "public_endpoint")


def public_endpoint(endpoint: XmlRpcEndpoint) -> dict[str, Any]:
    """The endpoint as plain JSON data without any secret: what may go into a trigger row or an XCom.

    Raises ``ValueError`` if the endpoint holds a password that would be lost: such a password must
    come from an Airflow connection (``airflow.xmlrpc_conn_id`` / ``ssh.ssh_conn_id``) instead.
    """
    if endpoint.password is not None and endpoint.conn_id is None:
        raise ValueError(
            "airflow.password: a password written in the DAG cannot be handed to the triggerer without storing it "
            "in the trigger row; put the XML-RPC credentials in an Airflow connection and set airflow.xmlrpc_conn_id"
        )
    if endpoint.ssh is not None and endpoint.ssh.password is not None and endpoint.ssh.ssh_conn_id is None:
        raise ValueError(
            "ssh.password: an SSH password written in the DAG cannot be handed to the triggerer; use a key file or "
            "an Airflow SSH connection (ssh.ssh_conn_id)"
        )
    # exclude_unset: a default written out would later read as an explicit override (e.g. ssh.port=22
    # overriding the port of the Airflow connection)
    return endpoint.model_dump(mode="json", exclude_unset=True, exclude={"password": True, "ssh": {"password"}})


class SupervisorHook(BaseHook):
    """Client factory for one supervisord endpoint.

    :param endpoint: where supervisord listens; ``endpoint.conn_id`` names an Airflow connection whose
        login/password are the XML-RPC credentials. Connections are read where the hook runs (worker
        or triggerer), with the async API inside triggers.
    """

    def __init__(self, endpoint: XmlRpcEndpoint | dict[str, Any]) -> None:
        super().__init__()
        self.endpoint = endpoint if isinstance(endpoint, XmlRpcEndpoint) else XmlRpcEndpoint.model_validate(endpoint)

    def _with_credentials(self, conn: Connection | None) -> XmlRpcEndpoint:
        if conn is None:
            return self.endpoint
        # validated, so the password is a SecretStr (model_copy would keep the connection's plain str)
        data = {**self.endpoint.model_dump(exclude_unset=True), "username": conn.login or self.endpoint.username}
        return XmlRpcEndpoint.model_validate({**data, "password": conn.password or None})

    async def aresolve(self) -> XmlRpcEndpoint:
        """The endpoint with its credentials read from the Airflow connection (async; for triggers).

        The read is bounded by ``hooks.ssh.CONNECTION_READ_TIMEOUT`` seconds (``SupervisorTimeoutError``).
        """
        conn_id = self.endpoint.conn_id
        return self._with_credentials(await read_connection(conn_id, self) if conn_id else None)

    def resolve(self) -> XmlRpcEndpoint:
        """The endpoint with its credentials read from the Airflow connection (sync; for operators)."""
        conn = self.get_connection(self.endpoint.conn_id) if self.endpoint.conn_id else None
        return self._with_credentials(conn)

    async def aget_client(self) -> SupervisorClient:
        """A new client for the endpoint (SSH through the loop's pool, which reads Airflow SSH connections);
        use it as ``async with``."""
        return SupervisorClient.from_endpoint(await self.aresolve(), pool=airflow_pool())
