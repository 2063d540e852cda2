"""Typed supervisord configuration: one model per supervisord.conf section, plus the Airflow-facing options.

Imports without Airflow installed.
"""

from .airflow import AirflowConfiguration, SupervisorAirflowConfiguration, SupervisorSSHAirflowConfiguration
from .endpoint import XmlRpcEndpoint
from .errors import ConfigurationError
from .hydra import load_airflow_config, load_airflow_ssh_config, load_config, load_convenience_config
from .legacy import LegacyLayoutWarning
from .sections import (
    EventListenerConfiguration,
    FcgiProgramConfiguration,
    GroupConfiguration,
    IncludeConfiguration,
    InetHttpServerConfiguration,
    ProgramConfiguration,
    RpcInterfaceConfiguration,
    SupervisorctlConfiguration,
    SupervisordConfiguration,
    UnixHttpServerConfiguration,
)
from .ssh import SSHConfiguration
from .supervisor import SupervisorConfiguration

__all__ = (
    "AirflowConfiguration",
    "ConfigurationError",
    "EventListenerConfiguration",
    "FcgiProgramConfiguration",
    "GroupConfiguration",
    "IncludeConfiguration",
    "InetHttpServerConfiguration",
    "LegacyLayoutWarning",
    "ProgramConfiguration",
    "RpcInterfaceConfiguration",
    "SSHConfiguration",
    "SupervisorAirflowConfiguration",
    "SupervisorConfiguration",
    "SupervisorSSHAirflowConfiguration",
    "SupervisorctlConfiguration",
    "SupervisordConfiguration",
    "UnixHttpServerConfiguration",
    "XmlRpcEndpoint",
    "load_airflow_config",
    "load_airflow_ssh_config",
    "load_config",
    "load_convenience_config",
)
