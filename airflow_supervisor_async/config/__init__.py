"""Typed supervisord configuration: one model per supervisord.conf section, plus the Airflow-facing options.

Imports without Airflow installed. The names below are imported on first use (building the pydantic
models takes most of a second), so that importing the package -- e.g. for ``airflow-supervisor-async
--help`` -- stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

#: public name -> the submodule that defines it
_DEFINED_IN = {
    "AirflowConfiguration": "airflow",
    "ConfigurationError": "errors",
    "EventListenerConfiguration": "sections",
    "FcgiProgramConfiguration": "sections",
    "GroupConfiguration": "sections",
    "IncludeConfiguration": "sections",
    "InetHttpServerConfiguration": "sections",
    "LegacyLayoutWarning": "legacy",
    "ProgramConfiguration": "sections",
    "RpcInterfaceConfiguration": "sections",
    "SSHConfiguration": "ssh",
    "SupervisorAirflowConfiguration": "airflow",
    "SupervisorConfiguration": "supervisor",
    "SupervisorSSHAirflowConfiguration": "airflow",
    "SupervisorctlConfiguration": "sections",
    "SupervisordConfiguration": "sections",
    "UnixHttpServerConfiguration": "sections",
    "XmlRpcEndpoint": "endpoint",
    "load_airflow_config": "hydra",
    "load_airflow_ssh_config": "hydra",
    "load_config": "hydra",
    "load_convenience_config": "hydra",
}

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


def __getattr__(name: str) -> Any:
    if name not in _DEFINED_IN:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{_DEFINED_IN[name]}", __name__), name)
    globals()[name] = value
    return value
