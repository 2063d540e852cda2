"""Where supervisord runs: the same host (``LocalHost``) or another one over SSH (``SSHHost``).

Both speak one small async interface (``Host``) so the steps that write the config, start and
stop supervisord, and remove the config exist once (``lifecycle``). No Airflow import here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import CommandResult, FileInfo, Host, HostCommandError, HostIdentity, ProcessInfo
from .lease import LeaseHeldError, RunId
from .local import LocalHost
from .safety import UnsafePathError

if TYPE_CHECKING:
    from ..config import SupervisorAirflowConfiguration

__all__ = (
    "CommandResult",
    "FileInfo",
    "Host",
    "HostCommandError",
    "HostIdentity",
    "LeaseHeldError",
    "LocalHost",
    "ProcessInfo",
    "RunId",
    "UnsafePathError",
    "make_host",
)


def make_host(cfg: SupervisorAirflowConfiguration) -> Host:
    """The host a configuration's supervisord runs on: over SSH for remote configurations, else this one."""
    from ..config import SupervisorSSHAirflowConfiguration

    if isinstance(cfg, SupervisorSSHAirflowConfiguration):
        from .ssh import SSHHost

        return SSHHost(cfg.ssh.require_target(), command_prefix=cfg.command_prefix)
    return LocalHost()
