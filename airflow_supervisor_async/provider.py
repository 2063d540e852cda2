"""Airflow provider registration: ``airflow providers list`` shows the project and its parts."""

from __future__ import annotations

from typing import Any

__all__ = ("get_provider_info",)


def get_provider_info() -> dict[str, Any]:
    """Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point."""
    from . import __version__

    return {
        "package-name": "airflow-supervisor-async",
        "name": "Supervisor (async)",
        "description": "Run long-running programs under supervisord, watched by deferrable triggers.",
        "versions": [__version__],
        "operators": [
            {
                "integration-name": "supervisord",
                "python-modules": [
                    "airflow_supervisor_async.operators.lifecycle",
                    "airflow_supervisor_async.operators.programs",
                    "airflow_supervisor_async.operators.routing",
                ],
            }
        ],
        "sensors": [
            {"integration-name": "supervisord", "python-modules": ["airflow_supervisor_async.sensors.programs"]}
        ],
        "triggers": [
            {"integration-name": "supervisord", "python-modules": ["airflow_supervisor_async.triggers.programs"]}
        ],
        "hooks": [{"integration-name": "supervisord", "python-modules": ["airflow_supervisor_async.hooks.supervisor"]}],
        "integrations": [
            {
                "integration-name": "supervisord",
                "external-doc-url": "http://supervisord.org/api.html",
                "tags": ["software"],
            }
        ],
    }
