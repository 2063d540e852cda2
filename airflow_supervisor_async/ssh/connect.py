"""Open one asyncssh client connection from an ``SSHConfiguration``, with clear errors. No Airflow here.

``connect_ssh(cfg)`` uses the explicit ``SSHConfiguration`` fields (``host``, ``port``, ``username``,
``key_file``, ...). A configuration naming an Airflow connection (``ssh_conn_id``) needs that connection
read first: ``airflow_supervisor_async.hooks.ssh.connect_with_airflow`` reads it and hands the resulting
asyncssh options to ``connect_ssh(cfg, options=...)``; the pool takes it through its ``connect`` seam.

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

from ..errors import (
    SSHAuthError,
    SSHHostKeyError,
    SupervisorConnectionError,
    SupervisorError,
    SupervisorSSHError,
    SupervisorTimeoutError,
)

if TYPE_CHECKING:
    import asyncssh

    from ..config.ssh import SSHConfiguration

__all__ = ("FAST_CIPHERS_FIRST", "connect_ssh", "describe_ssh", "enable_quickack", "ssh_options")

_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)
#: AES-GCM first, then asyncssh's default list: every call is a channel of a few packets, and asyncssh's
#: ChaCha20-Poly1305 builds cipher contexts per packet in Python -- AES-GCM halves the CPU per call (measured).
FAST_CIPHERS_FIRST = "^aes128-gcm@openssh.com,aes256-gcm@openssh.com"

# asyncssh logs every channel open/close at INFO, and every poll opens a channel: keep task and
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
    """``asyncssh.connect`` keyword arguments for the explicit options of ``cfg``."""
    options: dict[str, Any] = {"host": cfg.host, "port": cfg.port}
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


async def connect_ssh(cfg: SSHConfiguration, options: dict[str, Any] | None = None) -> asyncssh.SSHClientConnection:
    """A new SSH connection for ``cfg``; the handshake (TCP connect, key exchange, login) is bounded by
    ``cfg.connect_timeout`` seconds.

    :param options: ``asyncssh.connect`` keyword arguments to use instead of ``ssh_options(cfg)`` (what
        ``hooks.ssh`` builds from an Airflow connection). Keepalives are always set from ``cfg``.
    :raises SSHHostKeyError: the host key is unknown or changed (``check_host_key=False`` opts out).
    :raises SSHAuthError: the server refused the key/password.
    :raises SupervisorTimeoutError: no SSH session within ``connect_timeout``.
    :raises SupervisorConnectionError: the host cannot be reached (refused, unknown host, ...).
    :raises SupervisorSSHError: any other SSH failure, or ``cfg`` names an Airflow connection and no
        ``options`` were given.
    """
    import asyncssh  # here, not at the top: a DAG file with local jobs only never pays its import (~0.9 s)

    where = describe_ssh(cfg)
    if options is None:
        if cfg.ssh_conn_id:
            raise SupervisorSSHError(
                f"{where}: the Airflow connection must be read first; connect through "
                "airflow_supervisor_async.hooks.ssh (the triggers and operators do), or give `host` and the "
                "other SSH options explicitly"
            )
        options = ssh_options(cfg)
    options = {
        "encryption_algs": FAST_CIPHERS_FIRST,
        **options,
        "keepalive_interval": cfg.keepalive_interval,
        "keepalive_count_max": cfg.keepalive_count_max,
    }
    try:
        async with asyncio.timeout(cfg.connect_timeout):
            conn = await asyncssh.connect(**options)
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
