"""Async client of supervisord's XML-RPC API, over a unix socket, TCP or an SSH channel.

Imports and works without Airflow installed. Start with ``SupervisorClient``; results are the Pydantic
models of ``models``; errors derive from ``SupervisorError`` (see ``errors``).

Every call opens its own connection and closes it with the answer, so a client holds no socket and no
channel between calls, and every call has a total deadline (``connect_timeout + read_timeout``).
HTTP framing is h11's (``http``). Transports (details in ``transports``):

- unix socket: a connect per call (microseconds); no Nagle, no delayed ACK.
- TCP: a connection per call, with ``TCP_QUICKACK`` set after every receive, so supervisord's small
  writes are never held ~40 ms by Nagle waiting for our delayed ACK.
- SSH: one asyncssh connection per (host, port, user) per event loop (``airflow_supervisor_async.ssh``),
  with keepalives and quick ACKs; each call opens one channel on it straight to the remote
  supervisord's unix socket (direct-streamlocal) or loopback port (direct-tcpip). No local socket, no
  forwarder, no temp files.
"""

from ..errors import (
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
from ..ssh import SSHConnectionPool, SSHLease, get_pool
from .client import DEFAULT_MAX_RESPONSE_BYTES, ClientOptions, SupervisorClient
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
from .transports import (
    DEFAULT_LOCAL_CONNECTIONS,
    SSHTransport,
    TCPTransport,
    Transport,
    UnixSocketTransport,
    set_local_connection_limit,
)

__all__ = (
    "DEFAULT_LOCAL_CONNECTIONS",
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
    "set_local_connection_limit",
    "shared_client",
    "shared_client_count",
)
