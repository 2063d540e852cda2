"""One SSH connection per (host, port, user) per event loop, shared by every client, host and trigger in it.

(Configurations for the same host, port and user that differ in how the host is trusted -- known_hosts,
``check_host_key``, key file, Airflow connection id -- get separate connections; see ``SSHConnectionPool.key``.)

- ``get_pool()`` returns the running loop's pool (created on first use).
- ``pool.lease(cfg)`` counts a user of the connection for ``cfg``; ``await lease.release()`` gives it
  back. With no users left, the connection is closed after ``idle_timeout`` seconds (default 60).
- The connection is opened on first need, by the pool's ``connect`` seam (default ``connect_ssh``:
  explicit options only; ``hooks.ssh.connect_with_airflow`` also reads Airflow connections). Concurrent
  first users share one connect attempt (sshd's ``MaxStartups`` drops bursts of new connections).
- After a drop (sshd died, network gone, keepalive failed) the next use reconnects; what was in flight fails.
- XML-RPC calls open one SSH channel each (direct-streamlocal to a remote unix socket, direct-tcpip to a
  remote port) and close it with the answer: nothing is held between calls, no local socket or file
  is ever created. At most ``max_channels`` channels per connection are open at once; more wait.

Everything here runs on one event loop; no locks beyond asyncio's are needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import SupervisorError
from ..slots import Slots
from .connect import connect_ssh, describe_ssh

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Hashable

    import asyncssh

    from ..config.ssh import SSHConfiguration

__all__ = (
    "DEFAULT_IDLE_TIMEOUT",
    "DEFAULT_MAX_CHANNELS",
    "Destination",
    "PooledSSHConnection",
    "SSHConnectionPool",
    "SSHLease",
    "get_pool",
    "run_in_new_loop",
)

#: Seconds an unused pooled SSH connection stays open.
DEFAULT_IDLE_TIMEOUT = 60.0
#: Channels (calls in flight) open at once on one pooled connection.
DEFAULT_MAX_CHANNELS = 64
_CLOSE_TIMEOUT = 5.0

#: A remote unix socket path, or a remote ``(host, port)``.
Destination = str | tuple[str, int]
T = TypeVar("T")

_POOLS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SSHConnectionPool] = weakref.WeakKeyDictionary()


def run_in_new_loop(
    make: Callable[[], Awaitable[T]],
    *,
    connect: Callable[[SSHConfiguration], Awaitable[asyncssh.SSHClientConnection]] | None = None,
) -> T:
    """Run ``make()`` in a fresh event loop (sync callers: operators, the CLI), then close that loop's
    pooled SSH connections, which would otherwise outlive the loop.

    :param connect: the loop's pool connects with this (default ``connect_ssh``); operators pass
        ``hooks.ssh.connect_with_airflow`` so that ``ssh_conn_id`` works.
    """

    async def main() -> T:
        pool = get_pool()
        if connect is not None:
            pool.connect = connect
        try:
            return await make()
        finally:
            await pool.close()

    return asyncio.run(main())


def get_pool() -> SSHConnectionPool:
    """The running event loop's SSH connection pool."""
    loop = asyncio.get_running_loop()
    pool = _POOLS.get(loop)
    if pool is None:
        pool = _POOLS[loop] = SSHConnectionPool()
    return pool


class PooledSSHConnection:
    """The pool's slot for one (host, port, user): the live connection and its users."""

    def __init__(self, pool: SSHConnectionPool, key: Hashable, cfg: SSHConfiguration) -> None:
        self.pool = pool
        self.key = key
        self.cfg = cfg
        self.refs = 0
        self.connects = 0  #: successful connects so far (1 + reconnects)
        self.conn: asyncssh.SSHClientConnection | None = None
        #: taken for each channel (call in flight); bounds what sshd and supervisord see at once
        self.channel_slots = Slots(pool.max_channels)
        self._connecting: asyncio.Task[asyncssh.SSHClientConnection] | None = None
        self._idle: asyncio.TimerHandle | None = None

    # -- users ---------------------------------------------------------------------------------------
    def acquire(self) -> None:
        self.refs += 1
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None

    def release(self) -> None:
        self.refs = max(0, self.refs - 1)
        if self.refs == 0 and self._idle is None:
            loop = asyncio.get_running_loop()
            self._idle = loop.call_later(self.pool.idle_timeout, self._idle_expired)

    def _idle_expired(self) -> None:
        self._idle = None
        if self.refs == 0:
            self.pool._spawn(self._close_if_idle())

    async def _close_if_idle(self) -> None:
        if self.refs == 0:
            self.pool._forget(self)
            await self.close()

    # -- the connection ----------------------------------------------------------------------------
    @property
    def alive(self) -> bool:
        """A connection is open and not known to be closed."""
        return self.conn is not None and not self.conn.is_closed()

    @property
    def description(self) -> str:
        """``ssh://user@host:port``, without secrets."""
        return describe_ssh(self.cfg)

    async def connection(self) -> asyncssh.SSHClientConnection:
        """The live connection, connecting (once, shared by concurrent callers) if there is none."""
        conn = self.conn
        if conn is not None and not conn.is_closed():
            return conn
        if self._connecting is None:
            self._connecting = asyncio.ensure_future(self._connect())
            self._connecting.add_done_callback(self._connect_done)
        # shield: a cancelled caller must not cancel the connect other callers wait for
        return await asyncio.shield(self._connecting)

    async def _connect(self) -> asyncssh.SSHClientConnection:
        old, self.conn = self.conn, None
        if old is not None:
            await _drop(old)
        conn = await self.pool.connect(self.cfg)
        self.conn = conn
        self.connects += 1
        return conn

    def _connect_done(self, task: asyncio.Task[asyncssh.SSHClientConnection]) -> None:
        self._connecting = None
        if not task.cancelled():
            task.exception()  # retrieved here so an attempt nobody waits for any more is not reported as lost

    async def open_channel(
        self, factory: Callable[[], Any], dest: Destination
    ) -> tuple[asyncssh.SSHTCPChannel[Any] | asyncssh.SSHUNIXChannel[Any], Any]:
        """Open one channel to ``dest`` on the live connection; ``factory()`` makes its session (an
        ``asyncssh.SSHTCPSession``-like protocol). The caller closes the channel. Take a ``channel_slots``
        slot around the whole use of the channel.

        :raises asyncssh.ChannelOpenError: the remote sshd could not connect to ``dest``.
        """
        conn = await self.connection()
        if isinstance(dest, str):
            return await conn.create_unix_connection(factory, dest)
        return await conn.create_connection(factory, dest[0], dest[1])

    async def close(self) -> None:
        """Close the connection (users keep their leases and reconnect on next use)."""
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        connecting = self._connecting
        if connecting is not None:
            with contextlib.suppress(BaseException):
                await connecting
        conn, self.conn = self.conn, None
        if conn is not None:
            await _drop(conn)


async def _drop(conn: asyncssh.SSHClientConnection) -> None:
    conn.close()
    with contextlib.suppress(Exception):
        async with asyncio.timeout(_CLOSE_TIMEOUT):
            await conn.wait_closed()


class SSHLease:
    """One user's hold on a pooled connection; ``release()`` it when done (or use ``async with``)."""

    __slots__ = ("_entry", "_released")

    def __init__(self, entry: PooledSSHConnection) -> None:
        self._entry = entry
        self._released = False

    @property
    def entry(self) -> PooledSSHConnection:
        """The pooled connection this lease holds."""
        if self._released:
            raise SupervisorError("this SSH lease was released")
        return self._entry

    async def connection(self) -> asyncssh.SSHClientConnection:
        """The live SSH connection (reconnecting if it dropped), e.g. to run commands or SFTP on it."""
        return await self.entry.connection()

    async def release(self) -> None:
        """Give the connection back to the pool (idempotent)."""
        if not self._released:
            self._released = True
            self._entry.release()

    async def __aenter__(self) -> SSHLease:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.release()


class SSHConnectionPool:
    """SSH connections keyed by ``SSHConnectionPool.key(cfg)``, for one event loop.

    :param idle_timeout: seconds a connection without users stays open. Default 60.
    :param connect: coroutine function opening a connection for a configuration (default ``connect_ssh``,
        explicit options only). Also settable later as ``pool.connect``: it is only called to (re)connect.
    :param max_channels: channels open at once per connection (calls in flight); more wait. Default 64.
    """

    def __init__(
        self,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        *,
        connect: Callable[[SSHConfiguration], Awaitable[asyncssh.SSHClientConnection]] = connect_ssh,
        max_channels: int = DEFAULT_MAX_CHANNELS,
    ) -> None:
        if max_channels < 1:
            raise ValueError("max_channels must be at least 1")
        self.idle_timeout = float(idle_timeout)
        self.connect = connect
        self.max_channels = int(max_channels)
        self._entries: dict[Hashable, PooledSSHConnection] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    @staticmethod
    def key(cfg: SSHConfiguration) -> Hashable:
        """Which slot ``cfg`` uses: ``cfg.pool_key`` (host, port, user), plus the options that decide how far
        the connection can be trusted (connection id, known_hosts, host-key check, key file). A client asking
        for a checked host key never gets a connection that was opened without the check."""
        trust = (cfg.ssh_conn_id, str(cfg.known_hosts or ""), cfg.check_host_key, str(cfg.key_file or ""))
        return (*cfg.pool_key, *trust)

    def lease(self, cfg: SSHConfiguration) -> SSHLease:
        """Take a lease on the connection for ``cfg`` (no I/O: it connects on first use)."""
        key = self.key(cfg)
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = PooledSSHConnection(self, key, cfg)
        entry.acquire()
        return SSHLease(entry)

    def entries(self) -> list[PooledSSHConnection]:
        """The pool's slots (one per key), with or without a live connection."""
        return list(self._entries.values())

    def live_connections(self) -> int:
        """How many SSH connections are open right now."""
        return sum(1 for entry in self._entries.values() if entry.alive)

    def _forget(self, entry: PooledSSHConnection) -> None:
        if self._entries.get(entry.key) is entry:
            del self._entries[entry.key]

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Close every connection now. Leases stay valid and reconnect on next use; unused slots are dropped."""
        for entry in list(self._entries.values()):
            if entry.refs == 0:
                self._forget(entry)
            await entry.close()
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
