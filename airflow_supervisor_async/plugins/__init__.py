"""The Airflow UI plugin: a page of every supervised program, at ``/supervisor/`` on the api-server.

Registered through the ``airflow.plugins`` entry point. The api-server mounts the FastAPI app of
``plugins.app`` under ``/supervisor`` and Airflow's navigation gets a "Supervisor" link (under
Browse) that shows the page inside Airflow's UI.

Airflow loads plugins in every process, each task's included; the FastAPI app (and FastAPI itself)
is only built where ``fastapi_apps`` is read, i.e. in the api-server.
"""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

__all__ = ("URL_PREFIX", "SupervisorPlugin")

#: Where the api-server mounts the app.
URL_PREFIX = "/supervisor"


class _BuiltOnFirstUse:
    """Class attribute whose value, the ``fastapi_apps`` list, is built when first read."""

    def __init__(self) -> None:
        self._apps: list[dict[str, Any]] | None = None

    def __get__(self, instance: object, owner: type | None = None) -> list[dict[str, Any]]:
        if self._apps is None:
            from .app import create_app

            self._apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "Supervisor"}]
        return self._apps


class SupervisorPlugin(AirflowPlugin):
    """The supervisor page: ``fastapi_apps`` (built on first use) and a navigation link."""

    name = "airflow_supervisor_async"
    fastapi_apps = _BuiltOnFirstUse()
    external_views = [
        {
            "name": "Supervisor",
            "href": URL_PREFIX.lstrip("/") + "/",  # relative to Airflow's base URL
            "url_route": "supervisor",  # shown inside Airflow's UI at /plugin/supervisor
            "destination": "nav",
            "category": "browse",
            "icon": URL_PREFIX.lstrip("/") + "/static/icon.svg",
        }
    ]
