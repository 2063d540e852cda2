"""Open one asyncssh client connection from an ``SSHConfiguration``, with clear errors.

Two sources of options:

- explicit ``SSHConfiguration`` fields (``host``, ``port``, ``username``, ``key_file``, ...);
- ``ssh_conn_id``: an Airflow SSH connection, read with the SSH provider's ``SSHHookAsync`` (host,
  port, login, password, key file or inline key, host-key extras). Airflow is imported only here,
  only then: the client works without Airflow installed. Explicit fields override the connection's.

Host keys are checked against ``known_hosts`` (default ``~/.ssh/known_hosts``; a missing file
trusts nothing) unless ``check_host_key=False``. asyncssh keepalives are always turned on from
``keepalive_interval``/``keepalive_count_max`` so a silently dead connection is noticed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from typing import TYPE_CHECKING, Any

import asyncssh

from .errors import (
    SSHAuthError,
    SSHHostKeyError,
    SupervisorConnectionError,
    SupervisorError,
    SupervisorSSHError,
    SupervisorTimeoutError,
)

if TYPE_CHECKING:
    from ..config.ssh import SSHConfiguration

__all__ = ("connect_ssh", "describe_ssh", "enable_quickack", "ssh_options")

_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)

# asyncssh logs every channel open/close at INFO, and every poll opens channels: keep task and
# triggerer logs readable unless the application configured asyncssh's logger itself.
if logging.getLogger("asyncssh").level == logging.NOTSET:
    logging.getLogger("asyncssh").setLevel(logging.WARNING)


def enable_quickack(conn: asyncssh.SSHClientConnection) -> bool:
    """ACK every segment the SSH server sends at once (``TCP_QUICKACK`` after each receive).

    sshd leaves Nagle on for connections without a terminal and sends a forwarded HTTP answer as several
    SSH packets; with the kernel's delayed ACKs on our side every call would stall ~40 ms (measured).
    Installed on this connection object only. Returns False where it cannot apply (no TCP socket, not Linux).
    """
    sock = conn.get_extra_info("socket")
    if _QUICKACK is None or sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return False
    received = conn.data_received

    def data_received(data: bytes, datatype: Any = None) -> None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
        received(data, datatype)

    conn.data_received = data_received  # type: ignore[method-assign]
    return True


def describe_ssh(cfg: SSHConfiguration) -> str:
    """``ssh://user@host:port`` (or the connection id), without secrets."""
    user = f"{cfg.username}@" if cfg.username else ""
    if cfg.host:
        return f"ssh://{user}{cfg.host}:{cfg.port}"
    return f"ssh://{user}<Airflow connection {cfg.ssh_conn_id!r}>"


def ssh_options(cfg: SSHConfiguration) -> dict[str, Any]:
    """``asyncssh.connect`` keyword arguments for explicit options (no ``ssh_conn_id``)."""
    options: dict[str, Any] = {
        "host": cfg.host,
        "port": cfg.port,
        "connect_timeout": cfg.connect_timeout,
        "keepalive_interval": cfg.keepalive_interval,
        "keepalive_count_max": cfg.keepalive_count_max,
    }
    if cfg.username:
        options["username"] = cfg.username
    if cfg.key_file:
        options["client_keys"] = [str(cfg.key_file)]
    if cfg.password is not None:
        options["password"] = cfg.password.get_secret_value()
    if not cfg.check_host_key:
        options["known_hosts"] = None
    elif cfg.known_hosts:
        options["known_hosts"] = str(cfg.known_hosts)
    return options


async def _connect_with_airflow(cfg: SSHConfiguration) -> asyncssh.SSHClientConnection:
    try:
        from airflow.providers.ssh.hooks.ssh import SSHHookAsync
    except ImportError as exc:
        raise SupervisorSSHError(
            f"ssh_conn_id={cfg.ssh_conn_id!r} needs apache-airflow-providers-ssh installed ({exc}); "
            "or give the SSH options (host, username, key_file, ...) explicitly"
        ) from None
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
    hook = SSHHookAsync(ssh_conn_id=str(cfg.ssh_conn_id), **overrides)  # keepalives: set below, exactly
    try:
        conn: asyncssh.SSHClientConnection = await hook.get_conn()
    except (TimeoutError, asyncssh.Error, OSError, asyncio.CancelledError):
        raise
    except Exception as exc:  # the connection could not be read (missing, invalid extras, ...)
        raise SupervisorSSHError(
            f"cannot use Airflow SSH connection {cfg.ssh_conn_id!r}: {type(exc).__name__}: {exc}"
        ) from None
    conn.set_keepalive(cfg.keepalive_interval, cfg.keepalive_count_max)
    return conn


async def connect_ssh(cfg: SSHConfiguration) -> asyncssh.SSHClientConnection:
    """A new SSH connection for ``cfg``.

    The whole attempt (reading the Airflow connection too) is bounded by ``cfg.connect_timeout`` seconds.

    :raises SSHHostKeyError: the host key is unknown or changed (``check_host_key=False`` opts out).
    :raises SSHAuthError: the server refused the key/password.
    :raises SupervisorTimeoutError: no SSH session within ``connect_timeout``.
    :raises SupervisorConnectionError: the host cannot be reached (refused, unknown host, ...).
    :raises SupervisorSSHError: any other SSH failure.
    """
    where = describe_ssh(cfg)
    try:
        async with asyncio.timeout(cfg.connect_timeout):
            if cfg.ssh_conn_id:
                conn = await _connect_with_airflow(cfg)
            else:
                conn = await asyncssh.connect(**ssh_options(cfg))
    except SupervisorError:
        raise
    except asyncssh.HostKeyNotVerifiable as exc:
        known = "the connection's known_hosts" if cfg.ssh_conn_id else str(cfg.known_hosts or "~/.ssh/known_hosts")
        raise SSHHostKeyError(
            f"refused {where}: its host key is not trusted by {known} ({exc.reason}); add the host key there, "
            "or set check_host_key=False to skip the check (exposes the connection to man-in-the-middle attacks)"
        ) from None
    except asyncssh.PermissionDenied as exc:
        raise SSHAuthError(f"{where} refused the login: {exc.reason}") from None
    except asyncssh.DisconnectError as exc:
        raise SupervisorSSHError(f"SSH connection to {where} failed: {exc.reason}") from None
    except TimeoutError:
        raise SupervisorTimeoutError(f"no SSH session with {where} within {cfg.connect_timeout:g} s") from None
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise SupervisorConnectionError(f"cannot connect to {where}: {reason}") from None
    except asyncssh.Error as exc:
        raise SupervisorSSHError(f"SSH connection to {where} failed: {exc}") from None
    enable_quickack(conn)
    return conn
