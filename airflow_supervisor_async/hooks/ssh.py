"""Airflow SSH connections (``ssh_conn_id``) for the SSH pool, through its ``connect`` seam.

``connect_with_airflow(cfg)`` reads the Airflow connection named by ``cfg.ssh_conn_id`` with the SSH
provider's ``SSHHookAsync`` (host, port, login, password, key file or inline key, host-key extras;
explicit ``cfg`` fields override the connection's), then opens the SSH connection with ``connect_ssh``.
The two steps have their own deadlines: reading the connection (a secrets backend, the API server of a
busy Airflow) is bounded by ``CONNECTION_READ_TIMEOUT``; the SSH handshake by ``cfg.connect_timeout``.
A configuration without ``ssh_conn_id`` goes straight to ``connect_ssh``.

This module imports Airflow only when a connection id is actually read, so the CLI can use it without
Airflow installed.
"""

from __future__ import annotations

import asyncio
import importlib
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import SupervisorSSHError, SupervisorTimeoutError
from ..ssh import connect_ssh, get_pool
from ..ssh import run_in_new_loop as _run_in_new_loop

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    import asyncssh

    from ..config.ssh import SSHConfiguration
    from ..ssh import SSHConnectionPool

__all__ = (
    "CONNECTION_READ_TIMEOUT",
    "airflow_pool",
    "connect_with_airflow",
    "read_connection",
    "read_ssh_options",
    "run_in_new_loop",
)

#: Seconds allowed to read an Airflow SSH connection (apart from the SSH handshake's ``connect_timeout``).
CONNECTION_READ_TIMEOUT = 60.0
_PROVIDER = "airflow.providers.ssh.hooks.ssh"
T = TypeVar("T")


def _overrides(cfg: SSHConfiguration) -> dict[str, Any]:
    """``SSHHookAsync`` arguments for the fields set explicitly in ``cfg`` (they win over the connection's)."""
    overrides: dict[str, Any] = {}
    if cfg.host:
        overrides["host"] = cfg.host
    if "port" in cfg.model_fields_set:
        overrides["port"] = cfg.port
    if cfg.username:
        overrides["username"] = cfg.username
    if cfg.password is not None:
        overrides["password"] = cfg.password.get_secret_value()
    if cfg.key_file:
        overrides["key_file"] = str(cfg.key_file)
    if not cfg.check_host_key:
        overrides["known_hosts"] = "none"
    elif cfg.known_hosts:
        overrides["known_hosts"] = str(cfg.known_hosts)
    return overrides


def _options(hook: Any, conn: Any) -> dict[str, Any]:
    """``asyncssh.connect`` options from the hook's fields after it parsed ``conn``'s extras; the same
    choices as ``SSHHookAsync.get_conn`` makes before it connects."""
    import asyncssh

    def pick(own: Any, theirs: Any, default: Any = None) -> Any:
        return own if own is not None else theirs if theirs is not None else default

    options: dict[str, Any] = {
        "host": pick(hook.host, conn.host),
        "port": pick(hook.port, conn.port, 22),
        "username": pick(hook.username, conn.login),
        "password": pick(hook.password, conn.password),
    }
    if hook.key_file:
        options["client_keys"] = hook.key_file
    known = hook.known_hosts
    use_known = getattr(hook, "_should_use_known_hosts", lambda: True)  # a missing default file: asyncssh's default
    if isinstance(known, str) and known.lower() == "none":
        options["known_hosts"] = None
    elif known and use_known():
        options["known_hosts"] = known
    if hook.private_key:
        options["client_keys"] = [asyncssh.import_private_key(hook.private_key, hook.passphrase)]
    if hook.passphrase:
        options["passphrase"] = hook.passphrase
    return options


async def read_connection(conn_id: str, hook: Any) -> Any:
    """The Airflow connection ``conn_id``, read through ``hook`` (its class's ``aget_connection``) within
    ``CONNECTION_READ_TIMEOUT`` seconds.

    Uses the common-compat provider's reader where installed: on Airflow < 3.3.2 the SDK's async read
    masks secrets with a synchronous call that fails while other async calls are in flight (as in a
    triggerer with many triggers).

    :raises SupervisorTimeoutError: the read took longer.
    """
    try:
        from airflow.providers.common.compat.connection import get_async_connection
    except ImportError:
        get_async_connection = None  # type: ignore[assignment]  # providers before common.compat 1.7
    try:
        async with asyncio.timeout(CONNECTION_READ_TIMEOUT):
            if get_async_connection is not None:
                return await get_async_connection(conn_id, hook)
            return await hook.aget_connection(conn_id)
    except TimeoutError:
        raise SupervisorTimeoutError(
            f"could not read Airflow connection {conn_id!r} within {CONNECTION_READ_TIMEOUT:g} s"
        ) from None


async def read_ssh_options(cfg: SSHConfiguration) -> dict[str, Any]:
    """``asyncssh.connect`` options from the Airflow connection ``cfg.ssh_conn_id`` (explicit fields win).

    The provider is imported in a worker thread (never on the clock, never blocking the loop); the
    connection read itself is bounded by ``CONNECTION_READ_TIMEOUT`` seconds.

    :raises SupervisorSSHError: the provider is not installed, or the connection is missing or invalid.
    :raises SupervisorTimeoutError: the connection could not be read in time.
    """
    name = cfg.ssh_conn_id
    try:
        provider = await asyncio.to_thread(importlib.import_module, _PROVIDER)
    except ImportError as exc:
        raise SupervisorSSHError(
            f"ssh_conn_id={name!r} needs apache-airflow-providers-ssh installed ({exc}); "
            "or give the SSH options (host, username, key_file, ...) explicitly"
        ) from None
    hook = provider.SSHHookAsync(ssh_conn_id=str(name), **_overrides(cfg))
    try:
        conn = await read_connection(str(name), hook)
        if conn.extra:
            hook._parse_extras(conn)
        return _options(hook, conn)
    except SupervisorTimeoutError:
        raise
    except Exception as exc:  # missing connection, invalid extras or key, ...
        raise SupervisorSSHError(f"cannot use Airflow SSH connection {name!r}: {type(exc).__name__}: {exc}") from None


async def connect_with_airflow(cfg: SSHConfiguration) -> asyncssh.SSHClientConnection:
    """The pool's ``connect`` seam with Airflow connections: read ``cfg.ssh_conn_id`` (if set), then connect."""
    if not cfg.ssh_conn_id:
        return await connect_ssh(cfg)
    return await connect_ssh(cfg, options=await read_ssh_options(cfg))


def airflow_pool() -> SSHConnectionPool:
    """The running loop's SSH pool, connecting with ``connect_with_airflow`` (unless a custom seam is set)."""
    pool = get_pool()
    if pool.connect is connect_ssh:
        pool.connect = connect_with_airflow
    return pool


def run_in_new_loop(make: Callable[[], Awaitable[T]]) -> T:
    """``ssh.run_in_new_loop`` whose pool reads Airflow SSH connections: for operators and the CLI."""
    return _run_in_new_loop(make, connect=connect_with_airflow)
