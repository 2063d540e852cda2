"""Where supervisord runs: the same host (``LocalHost``) or another one over SSH (``SSHHost``).

Both speak one small async interface (``Host``) so the steps that write the config, start and
stop supervisord, and remove the config exist once (``lifecycle``). No Airflow import here.
"""

from .base import CommandResult, Host, HostCommandError
from .local import LocalHost

__all__ = ("CommandResult", "Host", "HostCommandError", "LocalHost")
