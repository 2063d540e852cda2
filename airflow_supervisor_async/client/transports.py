"""How a call reaches supervisord: a unix socket, TCP, or a channel of a pooled SSH connection.

Every call opens its own connection and closes it with the answer (``HTTPExchange``): a client holds
no socket and no channel between calls, so a triggerer watching thousands of jobs -- one supervisord
each -- holds file descriptors only for the calls in flight. What in-flight calls may open is bounded:
local connections (unix and TCP) by a limit per event loop (``set_local_connection_limit``, default 64),
SSH channels by the pool's ``max_channels`` per SSH connection (default 64).

**Unix sockets** have neither Nagle nor delayed ACKs; a connect costs a few microseconds.

**TCP and the 40 ms trap.** supervisord (medusa) writes each HTTP response in several small sends and
leaves Nagle on. On a kept-alive TCP connection the client's kernel delays its ACK, supervisord's kernel
holds the next send until that ACK comes, and every call costs ~43 ms (measured). A fresh connection
starts in quick-ACK mode, and ``TCP_QUICKACK`` is set again after every receive, so no call waits for a
delayed ACK. Loopback connections closed by the client do not exhaust ports (Linux reuses TIME_WAIT
ports on loopback, ``tcp_tw_reuse=2``).

**SSH.** Each call opens one channel on the pooled connection to the host (``ssh.pool``), straight to
supervisord's remote unix socket (direct-streamlocal) or remote port (direct-tcpip): one round trip to
sshd, no local socket, no local forwarder, no temp files. The SSH connection itself ACKs at once
(``ssh.enable_quickack``). A remote *TCP* port gets a fresh remote connection per call as well, so the
remote sshd's loopback connection to supervisord never falls into the trap either.
"""

from __future__ import annotations

import asyncio
import os
import weakref
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

from ..errors import SupervisorError
from ..slots import Slots

if TYPE_CHECKING:
    from ..config.ssh import SSHConfiguration
    from ..ssh import SSHConnectionPool, SSHLease
    from .http import HTTPExchange

__all__ = (
    "DEFAULT_LOCAL_CONNECTIONS",
    "SSHTransport",
    "TCPTransport",
    "Transport",
    "UnixSocketTransport",
    "set_local_connection_limit",
)

#: Local connections (unix and TCP) open at once per event loop, by default.
DEFAULT_LOCAL_CONNECTIONS = 64
_LOCAL_LIMIT = [DEFAULT_LOCAL_CONNECTIONS]
_LOCAL_SLOTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Slots] = weakref.WeakKeyDictionary()


def set_local_connection_limit(limit: int) -> int:
    """Most local connections (unix and TCP) open at once per event loop; more calls wait for a slot
    (within their ``connect_timeout``). Calls that start afterwards use the new limit. Default
    ``DEFAULT_LOCAL_CONNECTIONS`` (64). Returns the previous limit."""
    if limit < 1:
        raise ValueError("the local connection limit must be at least 1")
    previous, _LOCAL_LIMIT[0] = _LOCAL_LIMIT[0], int(limit)
    _LOCAL_SLOTS.clear()
    return previous


def _local_slots() -> Slots:
    loop = asyncio.get_running_loop()
    slots = _LOCAL_SLOTS.get(loop)
    if slots is None:
        slots = _LOCAL_SLOTS[loop] = Slots(_LOCAL_LIMIT[0])
    return slots


def _host_for_url(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


class Transport(ABC):
    """Where a call goes. One transport belongs to one client; it holds no connection between calls."""

    #: HTTP path of supervisord's XML-RPC handler.
    rpcpath: str = "/RPC2"
    #: the request's ``Host`` header.
    host_header: str = "localhost"
    #: set ``TCP_QUICKACK`` after every receive (TCP only).
    quickack: bool = False

    @abstractmethod
    def describe(self) -> str:
        """Address for messages and logs, without secrets."""

    @abstractmethod
    def slots(self) -> Slots:
        """The limit a call holds a slot of while its connection is open."""

    @abstractmethod
    async def open(self, exchange: HTTPExchange) -> Any:
        """Open a connection whose protocol is ``exchange``; return what it writes to (``write``, ``close``,
        ``abort``). Raises ``SupervisorError`` subclasses, ``OSError`` or ``asyncssh.Error``."""

    def explain(self, exc: BaseException) -> str | None:
        """A better reason for a failed call than the connection's, if the transport knows one."""
        if isinstance(exc, OSError) and not isinstance(exc, SupervisorError):
            return os.strerror(exc.errno) if exc.errno else str(exc)
        return None

    async def close(self) -> None:  # noqa: B027 (optional hook: local transports hold nothing)
        """Release what the transport holds (its lease on a pooled SSH connection)."""


class TCPTransport(Transport):
    """HTTP over TCP to supervisord's ``inet_http_server``, a new connection per call.

    :param host: host name or address.
    :param port: TCP port.
    :param rpcpath: XML-RPC path. Default ``/RPC2``.
    :param scheme: ``http`` (supervisord has no TLS; ``https`` only behind a TLS proxy).
    """

    quickack = True

    def __init__(self, host: str, port: int, rpcpath: str = "/RPC2", *, scheme: str = "http") -> None:
        if scheme not in ("http", "https"):
            raise ValueError(f"unsupported scheme {scheme!r}: use http (or https behind a TLS proxy)")
        self.host = host
        self.port = int(port)
        self.rpcpath = rpcpath
        self.scheme = scheme
        self.host_header = f"{_host_for_url(host)}:{self.port}"

    def describe(self) -> str:
        return f"{self.scheme}://{_host_for_url(self.host)}:{self.port}"

    @property
    def url(self) -> str:
        """The URL calls are posted to."""
        return f"{self.describe()}{self.rpcpath}"

    def slots(self) -> Slots:
        return _local_slots()

    async def open(self, exchange: HTTPExchange) -> Any:
        loop = asyncio.get_running_loop()
        tls = self.scheme == "https" or None
        transport, _ = await loop.create_connection(lambda: exchange, self.host, self.port, ssl=tls)
        return transport


class UnixSocketTransport(Transport):
    """HTTP over supervisord's ``unix_http_server`` socket, a new connection per call.

    :param path: path of the socket.
    :param rpcpath: XML-RPC path. Default ``/RPC2``.
    """

    def __init__(self, path: str, rpcpath: str = "/RPC2") -> None:
        self.path = str(path)
        self.rpcpath = rpcpath

    def describe(self) -> str:
        return f"unix://{self.path}"

    def slots(self) -> Slots:
        return _local_slots()

    async def open(self, exchange: HTTPExchange) -> Any:
        transport, _ = await asyncio.get_running_loop().create_unix_connection(lambda: exchange, self.path)
        return transport


class SSHTransport(Transport):
    """HTTP through an SSH channel to a supervisord on another host.

    The SSH connection comes from the per-event-loop pool (one per host, port and user, shared by every
    client, host and trigger of the loop); each call opens one channel on it to the remote unix socket
    or remote ``host:port``, and closes it with the answer. After a drop the next call reconnects.

    :param ssh: how to reach the remote host.
    :param unix_socket: remote path of supervisord's socket; or
    :param port: remote TCP port of supervisord (on ``host``, default ``127.0.0.1``, as seen from the
        remote host).
    :param pool: the SSH connection pool; default: the running event loop's (``ssh.get_pool()``).
    """

    def __init__(
        self,
        ssh: SSHConfiguration,
        *,
        unix_socket: str | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
        rpcpath: str = "/RPC2",
        pool: SSHConnectionPool | None = None,
    ) -> None:
        if (unix_socket is None) == (port is None):
            raise ValueError("SSHTransport: give exactly one of `unix_socket` or `port`")
        self.ssh = ssh
        self.unix_socket = str(unix_socket) if unix_socket is not None else None
        self.host = host
        self.port = port
        self.rpcpath = rpcpath
        self.destination: str | tuple[str, int] = (
            self.unix_socket if self.unix_socket is not None else (host, int(port or 0))
        )
        self._pool = pool
        self._lease: SSHLease | None = None
        self._lease_loop: asyncio.AbstractEventLoop | None = None

    def describe(self) -> str:
        ssh = self.ssh
        user = f"{ssh.username}@" if ssh.username else ""
        via = f"ssh://{user}{ssh.host}:{ssh.port}" if ssh.host else f"ssh conn_id={ssh.ssh_conn_id}"
        where = f"unix://{self.unix_socket}" if self.unix_socket else f"http://{_host_for_url(self.host)}:{self.port}"
        return f"{where} via {via}"

    def lease(self) -> SSHLease:
        """This transport's lease on the pooled SSH connection (taken on first use, kept until ``close``)."""
        loop = asyncio.get_running_loop()
        if self._lease is None or self._lease_loop is not loop:  # first use, or the old loop is gone
            from ..ssh import get_pool

            self._lease, self._lease_loop = (self._pool or get_pool()).lease(self.ssh), loop
        return self._lease

    def slots(self) -> Slots:
        return self.lease().entry.channel_slots

    async def open(self, exchange: HTTPExchange) -> Any:
        channel, _ = await self.lease().entry.open_channel(lambda: exchange, self.destination)
        return channel

    def explain(self, exc: BaseException) -> str | None:
        import asyncssh  # loaded already: this transport's lease connected with it

        lease = self._lease
        if lease is None:
            return None
        entry = lease.entry
        if isinstance(exc, asyncssh.ChannelOpenError):
            target = self.unix_socket or f"{self.host}:{self.port}"
            return f"the remote host refused to connect to {target} through {entry.description}: {exc.reason}"
        if not entry.alive:
            return f"the SSH connection {entry.description} was lost"
        if isinstance(exc, asyncssh.Error):
            return f"the SSH connection {entry.description} failed: {exc}"
        return super().explain(exc)

    async def close(self) -> None:
        lease, self._lease = self._lease, None
        if lease is not None and self._lease_loop is asyncio.get_running_loop():
            await lease.release()
