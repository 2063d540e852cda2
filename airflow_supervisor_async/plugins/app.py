"""The FastAPI app the api-server mounts under ``/supervisor``: the page, its JSON API and the actions.

Authentication and authorization are Airflow's: the user comes from Airflow's JWT (the UI's ``_token``
cookie or an ``Authorization: Bearer`` header) and the configured auth manager decides.

- ``GET  /supervisor/`` -- the page (redirects to Airflow's login when there is no valid session).
- ``GET  /supervisor/api/jobs`` -- every job of the DAGs the user may read, with live program states.
- ``GET  /supervisor/api/jobs/{dag_id}/{prefix}/programs/{name}/log?stream=stdout|stderr&bytes=N`` --
  a log tail (needs read access to the DAG's task logs); ``bytes`` at most ``MAX_LOG_BYTES``.
- ``POST /supervisor/api/jobs/{dag_id}/{prefix}/programs/{name}/start|stop|restart`` -- needs edit
  access to the DAG (method ``PUT``); JSON request (``Content-Type: application/json``, body ``{}``),
  recorded in Airflow's audit log with the user's name.

Settings (Airflow config, section ``[supervisor_async]``): ``ui_timeout`` -- seconds for reading one job
(default 5); ``ui_refresh`` -- seconds between the page's refreshes (default 5).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN
from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_dag
from airflow.api_fastapi.logging.decorators import action_logging
from airflow.configuration import conf
from airflow.utils.net import get_hostname
from airflow.utils.session import create_session
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from ..client import SupervisorError, SupervisorFault
from .jobs import find_job, registered_jobs
from .live import read_jobs, run_action, tail_log

if TYPE_CHECKING:
    from airflow.api_fastapi.auth.managers.models.base_user import BaseUser

    from ..status import Action
    from .jobs import JobRecord

__all__ = ("DEFAULT_LOG_BYTES", "MAX_LOG_BYTES", "Settings", "create_app")

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
#: Default and largest log tail the API returns, in bytes.
DEFAULT_LOG_BYTES = 16 * 1024
MAX_LOG_BYTES = 1024 * 1024
_SECTION = "supervisor_async"


class Settings:
    """The page's settings, read from Airflow's configuration when the app is created.

    :param timeout: seconds for reading one job (credentials, connection and call). Default 5.
    :param refresh: seconds between the page's refreshes. Default 5.
    """

    def __init__(self, timeout: float | None = None, refresh: float | None = None) -> None:
        self.timeout = timeout or conf.getfloat(_SECTION, "ui_timeout", fallback=5.0)
        self.refresh = refresh or conf.getfloat(_SECTION, "ui_refresh", fallback=5.0)
        if self.timeout <= 0 or self.refresh <= 0:
            raise ValueError(f"[{_SECTION}] ui_timeout and ui_refresh must be positive (seconds)")


def _dag_access(method: Literal["GET", "PUT"], entity: DagAccessEntity | None = None) -> Any:
    """Airflow's own check of ``method`` on the DAG named by the ``dag_id`` path parameter (401/403)."""
    return Depends(requires_access_dag(method, entity))


def _json_request(request: Request) -> None:
    """Actions accept JSON only: a cross-site form cannot send it without a CORS preflight."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "send the action as JSON (application/json)")


def _jobs_for(user: BaseUser) -> tuple[list[JobRecord], set[str]]:
    """The jobs of the DAGs ``user`` may read, and the DAG ids the user may edit."""
    manager = get_auth_manager()
    readable = manager.get_authorized_dag_ids(user=user, method="GET")
    editable = manager.get_authorized_dag_ids(user=user, method="PUT")
    with create_session() as session:
        return registered_jobs(session, readable), editable


def _find(dag_id: str, prefix: str) -> JobRecord | None:
    with create_session() as session:
        return find_job(session, dag_id, prefix)


async def _job(dag_id: str, prefix: str, program: str) -> JobRecord:
    """The registered job, or 404 when it or its program ``program`` (``name`` or ``group:name``) is unknown."""
    job = await asyncio.to_thread(_find, dag_id, prefix)
    if job is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no supervised job {prefix!r} in DAG {dag_id!r}")
    if program.split(":")[0] not in job.registration.programs:
        known = ", ".join(sorted(job.registration.programs))
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"job {dag_id}/{prefix} has no program {program!r}; it has {known}"
        )
    return job


def _supervisor_http_error(exc: BaseException, where: str) -> HTTPException:
    if isinstance(exc, TimeoutError):
        return HTTPException(status.HTTP_504_GATEWAY_TIMEOUT, f"{where}: supervisord did not answer in time")
    if isinstance(exc, SupervisorFault):
        return HTTPException(status.HTTP_409_CONFLICT, f"{where}: {exc}")
    return HTTPException(status.HTTP_502_BAD_GATEWAY, f"{where}: {exc}")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def create_app(settings: Settings | None = None) -> FastAPI:
    """The ``/supervisor`` app; call it inside the api-server (it reads Airflow's configuration)."""
    settings = settings or Settings()
    here = get_hostname()
    index = (STATIC / "index.html").read_text("utf-8").replace("{{refresh}}", f"{settings.refresh:g}")
    router = APIRouter()

    @router.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page(request: Request) -> Any:
        """The page; without a valid Airflow session, Airflow's login with a way back here."""
        manager, token = get_auth_manager(), request.cookies.get(COOKIE_NAME_JWT_TOKEN)
        user: BaseUser | None = None
        if token:
            with contextlib.suppress(Exception):  # expired, revoked or forged: log in again
                found = manager.get_user_from_token(token)
                user = await found if inspect.isawaitable(found) else found  # a coroutine in newer Airflow versions
        if user is None:
            return RedirectResponse(manager.get_url_login(next_url=str(request.url)), status.HTTP_303_SEE_OTHER)
        return HTMLResponse(index, headers={"Cache-Control": "no-store"})

    @router.get("/api/jobs")
    async def list_jobs(user: GetUserDep) -> dict[str, Any]:
        """Every supervised job of the DAGs the user may read, with each program's live state."""
        records, editable = await asyncio.to_thread(_jobs_for, user)
        views = await read_jobs(records, settings.timeout, here=here)
        for view in views:
            view["can_edit"] = view["dag_id"] in editable
        return {"user": user.get_name(), "generated_at": _now(), "refresh": settings.refresh, "jobs": views}

    @router.get(
        "/api/jobs/{dag_id}/{prefix}/programs/{name}/log", dependencies=[_dag_access("GET", DagAccessEntity.TASK_LOGS)]
    )
    async def program_log(
        dag_id: str,
        prefix: str,
        name: str,
        stream: Literal["stdout", "stderr"] = "stdout",
        length: Annotated[int, Query(alias="bytes", ge=1, le=MAX_LOG_BYTES)] = DEFAULT_LOG_BYTES,
    ) -> dict[str, Any]:
        """The last ``bytes`` bytes of a program's stdout or stderr log."""
        job = await _job(dag_id, prefix, name)
        try:
            tail = await tail_log(job, name, stream, length, settings.timeout)
        except (SupervisorError, TimeoutError) as exc:
            raise _supervisor_http_error(exc, f"{stream} log of {name}") from None
        return {"name": name, "stream": stream, "bytes": length, "read_at": _now(), **tail.model_dump()}

    for action in ("start", "stop", "restart"):
        _add_action(router, action, settings)

    app = FastAPI(
        title="Supervisor (airflow-supervisor-async)",
        description="Supervised programs of Airflow jobs: live state, log tails, start/stop/restart.",
        docs_url=None,
        redoc_url=None,
    )
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(router)
    return app


def _add_action(router: APIRouter, action: Action, settings: Settings) -> None:
    """``POST .../programs/{name}/<action>``: Airflow checks edit access, then the audit log records it."""

    async def act(dag_id: str, prefix: str, name: str, user: GetUserDep) -> dict[str, Any]:
        job = await _job(dag_id, prefix, name)
        program = name.split(":")[0]
        who = user.get_name()
        log.info("supervisor page: %s asks to %s program %s of %s/%s", who, action, program, dag_id, prefix)
        try:
            report, ok = await run_action(job, action, program, settings.timeout)
        except (SupervisorError, TimeoutError) as exc:
            log.warning("supervisor page: %s of %s/%s/%s by %s failed: %s", action, dag_id, prefix, program, who, exc)
            raise _supervisor_http_error(exc, f"{action} {program}") from None
        log.info("supervisor page: %s of %s/%s/%s by %s: %s", action, dag_id, prefix, program, who, "; ".join(report))
        return {
            "dag_id": dag_id,
            "prefix": prefix,
            "program": program,
            "action": action,
            "user": who,
            "ok": ok,
            "report": report,
        }

    act.__name__ = f"{action}_program"
    router.add_api_route(
        f"/api/jobs/{{dag_id}}/{{prefix}}/programs/{{name}}/{action}",
        act,
        methods=["POST"],
        summary=f"{action.capitalize()} one program of a job",
        dependencies=[_dag_access("PUT"), Depends(_json_request), Depends(action_logging(f"supervisor.{action}"))],
    )
