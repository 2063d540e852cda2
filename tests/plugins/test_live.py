"""The page's live reads against real supervisords: one stopped (SIGSTOP) host costs its own jobs the
per-job timeout and nothing more; states, log tails and actions come from the same code as the CLI."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from typing import TYPE_CHECKING, Any

import pytest

from airflow_supervisor_async.client import SupervisorClient
from airflow_supervisor_async.status import JobRegistration, program_specs

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_supervisor_async.config import SupervisorAirflowConfiguration

pytestmark = [pytest.mark.airflow, pytest.mark.airflow31]  # the page reads credentials through Airflow's hook

TIMEOUT = 1.0


def record(cfg: SupervisorAirflowConfiguration, dag_id: str) -> Any:
    from airflow_supervisor_async.hooks.supervisor import public_endpoint
    from airflow_supervisor_async.plugins.jobs import JobRecord

    endpoint = cfg.xmlrpc_endpoint()
    registration = JobRegistration(prefix=dag_id, endpoint=public_endpoint(endpoint), programs=program_specs(cfg))
    return JobRecord(dag_id, dag_id, registration, endpoint, registered_run_id="run1", worker="here", host="here")


def supervisord_pid(cfg: SupervisorAirflowConfiguration) -> int:
    return int(cfg.resolved_pidfile.read_text().strip())


@pytest.mark.slow
async def test_a_stopped_supervisord_costs_only_its_own_jobs_the_timeout(local_job: Callable[..., Any]) -> None:
    from airflow_supervisor_async.plugins.live import read_jobs

    programs = {"feed": {"command": "bash -c 'echo feed up; exec sleep 600'", "startsecs": 0}}
    healthy = await local_job(programs)
    frozen = await local_job(programs)
    for cfg in (healthy, frozen):
        async with SupervisorClient.from_config(cfg) as client:
            await client.start_process("feed")
    gone = await local_job(programs)
    os.kill(supervisord_pid(gone), signal.SIGKILL)
    jobs = [record(healthy, "healthy"), record(frozen, "frozen"), record(gone, "gone")]

    os.kill(supervisord_pid(frozen), signal.SIGSTOP)  # accepts connections, never answers
    try:
        started = time.monotonic()
        views = {view["dag_id"]: view for view in await read_jobs(jobs, TIMEOUT, here="elsewhere")}
        elapsed = time.monotonic() - started
    finally:
        os.kill(supervisord_pid(frozen), signal.SIGCONT)

    # all three at once, each bounded (the frozen job's error names the bound); without it the frozen one
    # would wait the client's default read timeout (60 s) and hold up the answer for the healthy one
    assert elapsed < 30, elapsed
    assert views["healthy"]["status"] == "live"
    (feed,) = views["healthy"]["programs"]
    assert (feed["name"], feed["state"], feed["ok"]) == ("feed", "RUNNING", True)
    assert feed["pid"]
    assert feed["uptime"] is not None
    assert views["frozen"]["status"] == "unreachable"
    assert f"within {TIMEOUT:g} s" in views["frozen"]["error"]
    assert views["gone"]["status"] == "unreachable"
    assert "cannot connect" in views["gone"]["error"]
    # a local job of another machine: the error says why this server may not reach it
    assert "a local job of worker here; this api-server runs on elsewhere" in views["gone"]["error"]
    assert views["healthy"]["where"] == "local"
    assert views["healthy"]["endpoint"].startswith("unix://")


@pytest.mark.slow
async def test_log_tail_and_restart_use_the_job_registration(local_job: Callable[..., Any]) -> None:
    from airflow_supervisor_async.plugins.live import read_job, run_action, tail_log

    cfg = await local_job(
        {"feed": {"command": "bash -c 'echo feed up; echo oops >&2; exec sleep 600'", "startsecs": 1}},
    )
    async with SupervisorClient.from_config(cfg) as client:
        await client.start_process("feed")
    job = record(cfg, "job")
    before = (await read_job(job, TIMEOUT))["programs"][0]

    deadline = time.monotonic() + 10
    while "feed up" not in (await tail_log(job, "feed", "stdout", 4096, TIMEOUT)).text:
        assert time.monotonic() < deadline, "feed's stdout never showed up"
        await asyncio.sleep(0.1)
    assert (await tail_log(job, "feed", "stderr", 4096, TIMEOUT)).text == "oops\n"
    assert (await tail_log(job, "feed", "stdout", 3, TIMEOUT)).text == "up\n"  # the last 3 bytes

    report, ok = await run_action(job, "restart", "feed", TIMEOUT)
    assert (report, ok) == (["feed: stopped", "feed: started"], True)
    after = (await read_job(job, TIMEOUT))["programs"][0]
    assert after["state"] == "RUNNING"
    assert after["pid"] != before["pid"]
