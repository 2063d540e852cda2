"""The supervised jobs Airflow knows: read from the metadata database (sync; run it in a thread).

A job is known by the registration its start step pushed (XCom ``REGISTRATION_KEY``); the latest
registration per (DAG, task id prefix) wins. Around it: the DAG's latest run, the worker the job
started on, whether that run already stopped supervisord, and the restarts so far.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ..config import XmlRpcEndpoint
from ..decisions import CONF_KEY
from ..status import REGISTRATION_KEY, JobRegistration

if TYPE_CHECKING:
    from collections.abc import Collection

    from sqlalchemy.orm import Session

__all__ = ("JobRecord", "find_job", "registered_jobs")

log = logging.getLogger(__name__)

# task ids of the steps the page looks at, as ``<prefix>-<step>``
_START, _STOP = "start-supervisor", "stop-supervisor"
_MONITORS = ("check-programs", "restart-programs")


@dataclass
class JobRecord:
    """One supervised job as the metadata database describes it."""

    dag_id: str
    prefix: str
    registration: JobRegistration
    endpoint: XmlRpcEndpoint  #: where the job's supervisord listens (without credentials)
    registered_run_id: str  #: the run whose start step registered the job (the job's current supervisord)
    run_id: str | None = None  #: the DAG's latest run
    run_state: str | None = None
    worker: str | None = None  #: hostname of the worker that ran the start step
    stopped: bool = False  #: the registering run's stop step stopped supervisord
    restarts: int = 0  #: restarts of failed programs by the job so far (carried across continuation runs)
    host: str | None = None  #: the SSH host (``host:port``) of a remote job, the worker's hostname for a local one

    def task_id(self, step: str) -> str:
        return f"{self.prefix}-{step}"


def _host(job: JobRecord) -> str | None:
    """The SSH host (``host:port``) of a remote job, the worker's hostname for a local one."""
    ssh = job.endpoint.ssh
    if ssh is None:
        return job.worker
    if ssh.host:
        return f"{ssh.host}:{ssh.port or 22}"
    return _connection_host(ssh.ssh_conn_id) if ssh.ssh_conn_id else None


def registered_jobs(session: Session, dag_ids: Collection[str] | None = None) -> list[JobRecord]:
    """Every registered job (of ``dag_ids`` if given), sorted by DAG id and prefix."""
    from airflow.models.xcom import XComModel
    from sqlalchemy import and_, func, select

    latest = (
        select(XComModel.dag_id, XComModel.task_id, func.max(XComModel.dag_run_id).label("dag_run_id"))
        .where(XComModel.key == REGISTRATION_KEY)
        .group_by(XComModel.dag_id, XComModel.task_id)
    )
    if dag_ids is not None:
        latest = latest.where(XComModel.dag_id.in_(list(dag_ids)))
    latest_sq = latest.subquery()
    rows = session.execute(
        select(XComModel.dag_id, XComModel.run_id, XComModel.value)
        .join(
            latest_sq,
            and_(
                XComModel.dag_id == latest_sq.c.dag_id,
                XComModel.task_id == latest_sq.c.task_id,
                XComModel.dag_run_id == latest_sq.c.dag_run_id,
            ),
        )
        .where(XComModel.key == REGISTRATION_KEY)
    ).all()
    jobs: dict[tuple[str, str], JobRecord] = {}
    for row in rows:
        try:
            registration = JobRegistration.model_validate(XComModel.deserialize_value(row))
            endpoint = XmlRpcEndpoint.model_validate(registration.endpoint)
        except (ValidationError, ValueError, TypeError) as exc:
            log.warning("ignoring an unreadable supervisor job registration of DAG %s: %s", row.dag_id, exc)
            continue
        jobs.setdefault(
            (row.dag_id, registration.prefix),
            JobRecord(row.dag_id, registration.prefix, registration, endpoint, registered_run_id=row.run_id),
        )
    records = sorted(jobs.values(), key=lambda job: (job.dag_id, job.prefix))
    if records:
        _add_runs(session, records)
        _add_tasks(session, records)
    for job in records:
        job.host = _host(job)
    return records


def find_job(session: Session, dag_id: str, prefix: str) -> JobRecord | None:
    """The registered job ``prefix`` of DAG ``dag_id``, or None."""
    return next((job for job in registered_jobs(session, [dag_id]) if job.prefix == prefix), None)


def _add_runs(session: Session, records: list[JobRecord]) -> None:
    """Latest run per DAG; restarts carried into the registering run by a continuation."""
    from airflow.models.dagrun import DagRun
    from sqlalchemy import func, or_, select

    dag_ids = {job.dag_id for job in records}
    latest_ids = set(
        session.scalars(select(func.max(DagRun.id)).where(DagRun.dag_id.in_(dag_ids)).group_by(DagRun.dag_id))
    )
    registering = or_(*(_in_run(DagRun, job.dag_id, job.registered_run_id) for job in records))
    runs = session.scalars(select(DagRun).where(or_(DagRun.id.in_(latest_ids), registering))).all()
    latest = {run.dag_id: run for run in runs if run.id in latest_ids}
    by_key = {(run.dag_id, run.run_id): run for run in runs}
    for job in records:
        if (run := latest.get(job.dag_id)) is not None:
            job.run_id, job.run_state = run.run_id, str(run.state) if run.state is not None else None
        registered = by_key.get((job.dag_id, job.registered_run_id))
        carried = ((registered.conf if registered else None) or {}).get(CONF_KEY) or {}
        job.restarts = _int(carried.get("restarts"))


def _in_run(model: Any, dag_id: str, run_id: str) -> Any:
    """SQL condition: rows of ``model`` that belong to run ``run_id`` of ``dag_id``."""
    from sqlalchemy import and_

    return and_(model.dag_id == dag_id, model.run_id == run_id)


def _add_tasks(session: Session, records: list[JobRecord]) -> None:
    """Worker host, stop state and restart counts from the registering runs' task instances."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.trigger import Trigger
    from airflow.models.xcom import XComModel
    from sqlalchemy import or_, select

    wanted = {
        (job.dag_id, job.registered_run_id, job.task_id(step)): job
        for job in records
        for step in (_START, _STOP, *_MONITORS)
    }
    runs = or_(*(_in_run(TaskInstance, job.dag_id, job.registered_run_id) for job in records))
    tis = session.execute(
        select(
            TaskInstance.dag_id,
            TaskInstance.run_id,
            TaskInstance.task_id,
            TaskInstance.state,
            TaskInstance.hostname,
            TaskInstance.trigger_id,
        ).where(runs, TaskInstance.task_id.in_({key[2] for key in wanted}))
    ).all()
    trigger_of: dict[int, JobRecord] = {}
    for ti in tis:
        job = wanted.get((ti.dag_id, ti.run_id, ti.task_id))
        if job is None:
            continue
        if ti.task_id == job.task_id(_START):
            job.worker = ti.hostname or None
        elif ti.task_id == job.task_id(_STOP):
            job.stopped = ti.state == "success"
        elif ti.trigger_id is not None:
            trigger_of[ti.trigger_id] = job
    # a monitoring step's latest event (XCom) and a deferred one's trigger both carry the restart count
    xcoms = session.execute(
        select(XComModel.dag_id, XComModel.run_id, XComModel.task_id, XComModel.value).where(
            or_(*(_in_run(XComModel, job.dag_id, job.registered_run_id) for job in records)),
            XComModel.key == "return_value",
            XComModel.task_id.in_({key[2] for key in wanted if key[2].endswith(_MONITORS)}),
        )
    ).all()
    for row in xcoms:
        job = wanted.get((row.dag_id, row.run_id, row.task_id))
        value = _safe(lambda row=row: XComModel.deserialize_value(row))
        if job is not None and isinstance(value, dict):
            job.restarts = max(job.restarts, _int(value.get("restarts")))
    if trigger_of:
        for trigger in session.scalars(select(Trigger).where(Trigger.id.in_(list(trigger_of)))):
            kwargs = _safe(lambda trigger=trigger: trigger.kwargs)
            if isinstance(kwargs, dict):
                job = trigger_of[trigger.id]
                job.restarts = max(job.restarts, _int(kwargs.get("restarts")))


def _connection_host(conn_id: str) -> str:
    """``host:port`` of Airflow SSH connection ``conn_id`` (for display; the client reads it itself)."""
    from airflow.sdk.bases.hook import BaseHook

    try:
        conn = BaseHook.get_connection(conn_id)
    except Exception:
        return f"connection {conn_id}"
    return f"{conn.host}:{conn.port or 22}" if conn.host else f"connection {conn_id}"


def _safe(read: Any) -> Any:
    """``read()``, or None when the stored value cannot be decoded (never fail the whole page for one row)."""
    try:
        return read()
    except Exception as exc:
        log.warning("supervisor page: cannot decode a stored value: %s", exc)
        return None


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0
