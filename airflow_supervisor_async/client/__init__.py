"""Async client of supervisord's XML-RPC API (aiohttp), over TCP, a unix socket or an SSH tunnel.

Imports and works without Airflow installed (Airflow is only used, lazily, to read an
``ssh_conn_id``). Start with ``SupervisorClient``; results are the Pydantic models of ``models``;
errors derive from ``SupervisorError`` (see ``errors``).

Transports (details in ``transports``):

- TCP: kept-alive connections with ``TCP_QUICKACK`` set after every receive, so supervisord's
  small writes are not held ~40 ms by Nagle waiting for our delayed ACK (``tcp_mode="close"``
  opens a connection per call instead).
- unix socket: kept-alive; no Nagle, no delayed ACK.
- SSH: one asyncssh connection per (host, port, user) per event loop (``ssh_pool``), with
  keepalives and quick ACKs. The HTTP client talks to a private unix socket in a fresh 0700 temp
  directory that asyncssh forwards (``forward_local_path`` / ``forward_local_path_to_port``) to the
  remote supervisord's unix socket or loopback port, one SSH channel per HTTP connection. Chosen
  because it needs only public aiohttp and asyncssh APIs, costs one local socket hop, and never
  opens a TCP port on this machine. To a remote TCP port each call uses a new channel, as the
  remote sshd's own loopback connection to supervisord would otherwise hit the same 40 ms stall.
"""

from .client import DEFAULT_MAX_RESPONSE_BYTES, ClientOptions, SupervisorClient
from .errors import (
    AbnormalTerminationFault,
    AlreadyAddedFault,
    AlreadyStartedFault,
    BadArgumentsFault,
    BadNameFault,
    BadSignalFault,
    CantRereadFault,
    FailedFault,
    Faults,
    IncorrectParametersFault,
    NoFileFault,
    NotExecutableFault,
    NotRunningFault,
    ResponseTooLargeError,
    ShutdownStateFault,
    SignatureUnsupportedFault,
    SpawnErrorFault,
    SSHAuthError,
    SSHHostKeyError,
    StillRunningFault,
    SupervisorAuthError,
    SupervisorConnectionError,
    SupervisorError,
    SupervisorFault,
    SupervisorProtocolError,
    SupervisorSSHError,
    SupervisorTimeoutError,
    SupervisorTransportError,
    UnknownMethodFault,
)
from .models import (
    LogTail,
    ProcessInfo,
    ProcessState,
    ProcessStatus,
    ReloadResult,
    SupervisorState,
    SupervisorStateCode,
)
from .shared import shared_client, shared_client_count
from .ssh_pool import SSHConnectionPool, SSHLease, get_pool
from .transports import SSHTransport, TCPTransport, Transport, UnixSocketTransport

__all__ = (
    "DEFAULT_MAX_RESPONSE_BYTES",
    "AbnormalTerminationFault",
    "AlreadyAddedFault",
    "AlreadyStartedFault",
    "BadArgumentsFault",
    "BadNameFault",
    "BadSignalFault",
    "CantRereadFault",
    "ClientOptions",
    "FailedFault",
    "Faults",
    "IncorrectParametersFault",
    "LogTail",
    "NoFileFault",
    "NotExecutableFault",
    "NotRunningFault",
    "ProcessInfo",
    "ProcessState",
    "ProcessStatus",
    "ReloadResult",
    "ResponseTooLargeError",
    "SSHAuthError",
    "SSHConnectionPool",
    "SSHHostKeyError",
    "SSHLease",
    "SSHTransport",
    "ShutdownStateFault",
    "SignatureUnsupportedFault",
    "SpawnErrorFault",
    "StillRunningFault",
    "SupervisorAuthError",
    "SupervisorClient",
    "SupervisorConnectionError",
    "SupervisorError",
    "SupervisorFault",
    "SupervisorProtocolError",
    "SupervisorSSHError",
    "SupervisorState",
    "SupervisorStateCode",
    "SupervisorTimeoutError",
    "SupervisorTransportError",
    "TCPTransport",
    "Transport",
    "UnixSocketTransport",
    "UnknownMethodFault",
    "get_pool",
    "shared_client",
    "shared_client_count",
)
