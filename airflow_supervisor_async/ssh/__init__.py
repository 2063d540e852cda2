"""SSH to the hosts that run supervisord: connect (asyncssh) and one pooled connection per host per event loop.

Used by the XML-RPC client (one channel per call) and by ``host`` (commands, SFTP). Imports no Airflow:
Airflow SSH connections (``ssh_conn_id``) are read in ``hooks.ssh`` and reach the pool through its
``connect`` seam.
"""

from .connect import connect_ssh, describe_ssh, enable_quickack, ssh_options
from .pool import (
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_CHANNELS,
    Destination,
    PooledSSHConnection,
    SSHConnectionPool,
    SSHLease,
    get_pool,
    run_in_new_loop,
)

__all__ = (
    "DEFAULT_IDLE_TIMEOUT",
    "DEFAULT_MAX_CHANNELS",
    "Destination",
    "PooledSSHConnection",
    "SSHConnectionPool",
    "SSHLease",
    "connect_ssh",
    "describe_ssh",
    "enable_quickack",
    "get_pool",
    "run_in_new_loop",
    "ssh_options",
)
