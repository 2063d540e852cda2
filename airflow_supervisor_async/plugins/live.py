"""Live state of registered jobs through the library's async client: concurrent, bounded per job.

Each job is read with one ``getAllProcessInfo`` call through the event loop's shared client for its
endpoint (``client.shared_client``; remote jobs share the loop's pooled SSH connection per host).
Every job gets at most ``timeout`` seconds in all -- credentials, connecting and the call -- so one
slow or stopped host only marks its own jobs unreachable and never holds up the page.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from ..client import SupervisorError, shared_client
from ..hooks.ssh import airflow_pool
from ..hooks.supervisor import SupervisorHook
from ..status import control_programs, read_status

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from ..client import LogTail, SupervisorClient
    from ..status import Action
    from .jobs import JobRecord

__all__ = ("describe_job", "job_client", "read_job", "read_jobs", "run_action", "tail_log")

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def job_client(job: JobRecord, timeout: float) -> AsyncIterator[SupervisorClient]:
    """The loop's shared client for the job's supervisord, credentials read from its Airflow connection."""
    async with asyncio.timeout(timeout):  # the Airflow connection lookup may be a secrets-backend call
        endpoint = await SupervisorHook(job.registration.endpoint).aresolve()
    # remote jobs name an Airflow SSH connection: the pool must read it (``hooks.ssh``), not only explicit options
    options = {"connect_timeout": timeout, "read_timeout": timeout, "pool": airflow_pool()}
    async with shared_client(endpoint, **options) as client:
        yield client


def describe_job(job: JobRecord) -> dict[str, Any]:
    """The job's identity and Airflow side as plain JSON data (no live state, no secret)."""
    endpoint = job.endpoint
    return {
        "dag_id": job.dag_id,
        "prefix": job.prefix,
        "where": "local" if endpoint.ssh is None else "remote",
        "host": job.host,
        "endpoint": endpoint.describe(),
        "run_id": job.run_id,
        "run_state": job.run_state,
        "registered_run_id": job.registered_run_id,
        "restarts": job.restarts,
    }


async def read_job(job: JobRecord, timeout: float, *, here: str | None = None) -> dict[str, Any]:
    """``describe_job`` plus ``status`` (``live``, ``unreachable`` or ``stopped``), ``error`` and ``programs``.

    :param timeout: seconds for the whole read (credentials, connection, call).
    :param here: this server's hostname, to explain why a local job of another worker cannot be read.
    """
    view = describe_job(job) | {"status": "live", "error": None, "programs": []}
    if job.stopped:
        return view | {"status": "stopped", "error": f"run {job.registered_run_id} stopped supervisord"}
    try:
        async with asyncio.timeout(timeout), job_client(job, timeout) as client:
            rows = await read_status(client, job.registration.programs)
    except TimeoutError:
        error = f"no answer from {view['endpoint']} within {timeout:g} s"
    except SupervisorError as exc:
        error = str(exc)
    except Exception as exc:  # e.g. a missing Airflow connection: this job's problem, not the page's
        # shown on the page at every refresh; the traceback only at debug level to spare the log
        log.debug("supervisor page: reading %s/%s failed", job.dag_id, job.prefix, exc_info=True)
        error = f"{type(exc).__name__}: {exc}"
    else:
        return view | {"programs": [row.model_dump() for row in rows]}
    if view["where"] == "local" and here and job.worker and job.worker != here:
        error += f" (a local job of worker {job.worker}; this api-server runs on {here})"
    return view | {"status": "unreachable", "error": error}


async def read_jobs(jobs: list[JobRecord], timeout: float, *, here: str | None = None) -> list[dict[str, Any]]:
    """``read_job`` for every job at once; takes about ``timeout`` seconds at most."""
    return list(await asyncio.gather(*(read_job(job, timeout, here=here) for job in jobs)))


async def tail_log(job: JobRecord, process: str, stream: str, length: int, timeout: float) -> LogTail:
    """The last ``length`` bytes of a process's ``stream`` (``stdout``/``stderr``) log.

    Raises ``SupervisorError`` (a ``SupervisorFault`` when supervisord refuses, e.g. no such log) or
    ``TimeoutError``.
    """
    async with asyncio.timeout(timeout), job_client(job, timeout) as client:
        read = client.tail_process_stdout_log if stream == "stdout" else client.tail_process_stderr_log
        return await read(process, 0, length)


async def run_action(job: JobRecord, action: Action, program: str, timeout: float) -> tuple[list[str], bool]:
    """``control_programs`` for one program of the job: report lines and whether it went well.

    Each call is bounded (``timeout`` to connect and read state; the program's ``startsecs``/``stopwaitsecs``
    plus a margin for the start and stop calls). Raises ``SupervisorError``.
    """
    async with job_client(job, timeout) as client:
        return await control_programs(client, action, job.registration.programs, [program])
