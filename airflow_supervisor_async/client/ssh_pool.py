"""One SSH connection per (host, port, user) per event loop, shared by every client and trigger in it.

(Configurations for the same host, port and user that differ in how the host is trusted -- known_hosts,
``check_host_key``, key file, Airflow connection id -- get separate connections; see ``SSHConnectionPool.key``.)

- ``get_pool()`` returns the running loop's pool (created on first use).
- ``pool.lease(cfg)`` counts a user of the connection for ``cfg.pool_key``; ``await lease.release()``
  gives it back. With no users left, the connection is closed after ``idle_timeout`` seconds
  (default 60; 0 closes it at once).
- The connection is opened on first need. Concurrent first users share one connect attempt (no
  thundering herd: sshd's ``MaxStartups`` drops bursts of new connections).
- After a drop (sshd died, network gone, keepalive failed) the next call reconnects; the caller that
  was in flight gets an error.
- Per destination (remote socket path or remote ``(host, port)``) the connection keeps one local
  forwarder on a private unix socket in a fresh 0700 temp directory (see ``transports.SSHTransport``).

Everything here runs on one event loop; no locks beyond asyncio's are needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import weakref
from typing import TYPE_CHECKING, Any, TypeVar

import asyncssh

from .errors import SupervisorError, SupervisorSSHError
from .ssh import connect_ssh, describe_ssh

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Hashable

    from ..config.ssh import SSHConfiguration

__all__ = (
    "DEFAULT_IDLE_TIMEOUT",
    "PooledSSHConnection",
    "SSHConnectionPool",
    "SSHLease",
    "get_pool",
    "run_in_new_loop",
)

#: Seconds an unused pooled SSH connection stays open.
DEFAULT_IDLE_TIMEOUT = 60.0
_CLOSE_TIMEOUT = 5.0
_PROBE_TIMEOUT = 5.0

Destination = str | tuple[str, int]
T = TypeVar("T")

_POOLS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SSHConnectionPool] = weakref.WeakKeyDictionary()


def run_in_new_loop(make: Callable[[], Awaitable[T]]) -> T:
    """Run ``make()`` in a fresh event loop (sync callers: operators, the CLI), then close that loop's
    pooled SSH connections, which would otherwise outlive the loop."""

    async def main() -> T:
        try:
            return await make()
        finally:
            await get_pool().close()

    return asyncio.run(main())


def get_pool() -> SSHConnectionPool:
    """The running event loop's SSH connection pool."""
    loop = asyncio.get_running_loop()
    pool = _POOLS.get(loop)
    if pool is None:
        pool = _POOLS[loop] = SSHConnectionPool()
    return pool


def _tmp_root() -> str:
    root = tempfile.gettempdir()
    return root if len(root) <= 60 else "/tmp"  # sun_path holds 108 bytes


class _Forward:
    """A local unix socket forwarded to one remote destination over one SSH connection."""

    def __init__(self, conn: asyncssh.SSHClientConnection, listener: asyncssh.SSHListener, tmpdir: str) -> None:
        self.conn = conn
        self.listener = listener
        self.tmpdir = tmpdir
        self.path = os.path.join(tmpdir, "rpc.sock")

    @classmethod
    async def open(cls, conn: asyncssh.SSHClientConnection, dest: Destination) -> _Forward:
        tmpdir = await asyncio.to_thread(tempfile.mkdtemp, prefix="sv-ssh-", dir=_tmp_root())  # mode 0700
        path = os.path.join(tmpdir, "rpc.sock")
        try:
            if isinstance(dest, str):
                listener = await conn.forward_local_path(path, dest)
            else:
                listener = await conn.forward_local_path_to_port(path, dest[0], dest[1])
        except BaseException:
            await asyncio.to_thread(shutil.rmtree, tmpdir, True)
            raise
        return cls(conn, listener, tmpdir)

    async def close(self) -> None:
        try:
            self.listener.close()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(_CLOSE_TIMEOUT):
                    await self.listener.wait_closed()
        finally:
            await asyncio.to_thread(shutil.rmtree, self.tmpdir, True)


class PooledSSHConnection:
    """The pool's slot for one (host, port, user): the live connection, its users and forwarders."""

    def __init__(self, pool: SSHConnectionPool, key: Hashable, cfg: SSHConfiguration) -> None:
        self.pool = pool
        self.key = key
        self.cfg = cfg
        self.refs = 0
        self.connects = 0  #: successful connects so far (1 + reconnects)
        self.conn: asyncssh.SSHClientConnection | None = None
        self._connecting: asyncio.Task[asyncssh.SSHClientConnection] | None = None
        self._idle: asyncio.TimerHandle | None = None
        self._forwards: dict[Destination, _Forward] = {}
        self._forward_lock = asyncio.Lock()

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
            await self._drop(old)
        conn = await self.pool._connect(self.cfg)
        self.conn = conn
        self.connects += 1
        return conn

    def _connect_done(self, task: asyncio.Task[asyncssh.SSHClientConnection]) -> None:
        self._connecting = None
        if not task.cancelled():
            task.exception()  # retrieved here so an attempt nobody waits for any more is not reported as lost

    async def _drop(self, conn: asyncssh.SSHClientConnection) -> None:
        forwards, self._forwards = self._forwards, {}
        for forward in forwards.values():
            with contextlib.suppress(Exception):  # close the others and the connection anyway
                await forward.close()
        conn.close()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(_CLOSE_TIMEOUT):
                await conn.wait_closed()

    async def local_path(self, dest: Destination) -> str:
        """Path of the local unix socket forwarded to ``dest`` over the live connection."""
        conn = await self.connection()
        forward = self._forwards.get(dest)
        if forward is not None and forward.conn is conn:
            return forward.path
        async with self._forward_lock:
            conn = await self.connection()
            forward = self._forwards.get(dest)
            if forward is not None and forward.conn is conn:
                return forward.path
            if forward is not None:
                del self._forwards[dest]
                await forward.close()
            try:
                forward = await _Forward.open(conn, dest)
            except (asyncssh.Error, OSError) as exc:
                raise SupervisorSSHError(
                    f"cannot forward a local socket to {dest!r} over {describe_ssh(self.cfg)}: {exc}"
                ) from None
            self._forwards[dest] = forward
            return forward.path

    async def explain_failure(self, dest: Destination) -> str | None:
        """Why a call through the forwarder to ``dest`` may have failed, found by probing; None if unknown."""
        conn = self.conn
        where = describe_ssh(self.cfg)
        if conn is None or conn.is_closed():
            return f"the SSH connection {where} was lost"
        try:
            async with asyncio.timeout(_PROBE_TIMEOUT):
                if isinstance(dest, str):
                    _, writer = await conn.open_unix_connection(dest)
                else:
                    _, writer = await conn.open_connection(dest[0], dest[1])
                writer.close()
        except asyncssh.ChannelOpenError as exc:
            target = dest if isinstance(dest, str) else f"{dest[0]}:{dest[1]}"
            return f"the remote host refused to connect to {target} through {where}: {exc.reason}"
        except (asyncssh.Error, OSError, TimeoutError) as exc:
            return f"the SSH connection {where} failed: {exc}"
        return None

    async def close(self) -> None:
        """Close the connection and its forwarders (users keep their leases and reconnect on next use)."""
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        connecting = self._connecting
        if connecting is not None:
            with contextlib.suppress(BaseException):
                await connecting
        conn, self.conn = self.conn, None
        if conn is not None:
            await self._drop(conn)


class SSHLease:
    """One user's hold on a pooled connection; ``release()`` it when done (or use ``async with``)."""

    def __init__(self, entry: PooledSSHConnection) -> None:
        self._entry = entry
        self._released = False

    @property
    def entry(self) -> PooledSSHConnection:
        """The pooled connection this lease holds."""
        return self._entry

    def _check(self) -> PooledSSHConnection:
        if self._released:
            raise SupervisorError("this SSH lease was released")
        return self._entry

    async def connection(self) -> asyncssh.SSHClientConnection:
        """The live SSH connection (reconnecting if it dropped), e.g. to run commands or SFTP on it."""
        return await self._check().connection()

    async def local_path(self, dest: Destination) -> str:
        """Local unix socket path forwarded to ``dest`` (remote socket path or ``(host, port)``)."""
        return await self._check().local_path(dest)

    async def explain_failure(self, dest: Destination) -> str | None:
        """See ``PooledSSHConnection.explain_failure``."""
        return await self._check().explain_failure(dest)

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
    """SSH connections keyed by ``SSHConfiguration.pool_key`` (host, port, user), for one event loop.

    :param idle_timeout: seconds a connection without users stays open. Default 60.
    :param connect: coroutine function opening a connection (default ``connect_ssh``); for tests.
    """

    def __init__(
        self,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        *,
        connect: Callable[[SSHConfiguration], Awaitable[asyncssh.SSHClientConnection]] = connect_ssh,
    ) -> None:
        self.idle_timeout = float(idle_timeout)
        self._connect = connect
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
