"""The monitoring trigger against a real supervisord: every outcome, resumption, and a non-blocking loop."""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import signal
import tempfile
import time
from typing import TYPE_CHECKING, Any

import pytest

pytest.importorskip("airflow")  # the trigger's base class is Airflow's: skipped where it is not installed

from airflow_supervisor_async.client import (
    SupervisorClient,
    get_pool,
    set_local_connection_limit,
    shared_client_count,
)
from airflow_supervisor_async.config import SupervisorAirflowConfiguration, XmlRpcEndpoint
from airflow_supervisor_async.hooks.supervisor import public_endpoint
from airflow_supervisor_async.triggers import SupervisorProgramsTrigger
from tests.client.conftest import DripServer, longest_loop_step
from tests.support.proc import established, open_fd_count

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.fixtures.sshd import RunningSshd

pytestmark = [pytest.mark.airflow, pytest.mark.airflow31]

FAILING = "bash -c 'echo to-stdout; echo to-stderr >&2; sleep 1.3; exit 3'"


def make_trigger(cfg: SupervisorAirflowConfiguration, **overrides: Any) -> SupervisorProgramsTrigger:
    kwargs: dict[str, Any] = {
        "endpoint": public_endpoint(cfg.xmlrpc_endpoint()),
        "programs": list(cfg.program),
        "exitcodes": {name: [0] for name in cfg.program},
        "check_interval": 0.2,
        "unreachable_after": 2.0,
    }
    kwargs.update(overrides)
    return SupervisorProgramsTrigger(**kwargs)


async def first_event(trigger: SupervisorProgramsTrigger, timeout: float = 30) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        async for event in trigger.run():
            return event.payload
        raise AssertionError("trigger ended without an event")

    try:
        return await asyncio.wait_for(run(), timeout)
    finally:
        await trigger.cleanup()


async def start_all(cfg: SupervisorAirflowConfiguration) -> None:
    async with SupervisorClient.from_endpoint(cfg.xmlrpc_endpoint()) as client:
        for name in cfg.program:
            await client.start_process(name, wait=False)


@pytest.mark.slow
async def test_done_when_every_program_exits_cleanly(local_job: Callable[..., Any]) -> None:
    cfg = await local_job({"a": "sleep 1.2", "b": "bash -c 'sleep 1.5; exit 0'"})
    await start_all(cfg)
    event = await first_event(make_trigger(cfg))
    assert event["outcome"] == "done"
    assert {name: p["state"] for name, p in event["programs"].items()} == {"a": "EXITED", "b": "EXITED"}
    assert event["failed"] == []
    assert event["logs"] == {}


@pytest.mark.slow
async def test_failed_carries_exit_status_and_log_tails(local_job: Callable[..., Any]) -> None:
    cfg = await local_job({"ok": "sleep 30", "bad": FAILING})
    await start_all(cfg)
    event = await first_event(make_trigger(cfg, restarts=2))
    assert event["outcome"] == "failed"
    assert event["failed"] == ["bad"]
    assert event["programs"]["bad"]["exitstatus"] == 3
    assert event["programs"]["ok"]["state"] == "RUNNING"
    assert "to-stdout" in event["logs"]["bad"]["stdout"]
    assert "to-stderr" in event["logs"]["bad"]["stderr"]
    assert event["restarts"] == 2  # echoed back so it survives `airflow dags test`


@pytest.mark.slow
async def test_nonzero_exit_listed_in_exitcodes_is_done(local_job: Callable[..., Any]) -> None:
    cfg = await local_job({"three": "bash -c 'sleep 1.2; exit 3'"})
    await start_all(cfg)
    event = await first_event(make_trigger(cfg, exitcodes={"three": [0, 3]}))
    assert event["outcome"] == "done"


@pytest.mark.slow
async def test_log_tails_are_bounded(local_job: Callable[..., Any]) -> None:
    cfg = await local_job({"noisy": "bash -c 'head -c 200000 /dev/zero | tr \"\\0\" x; sleep 1.2; exit 1'"})
    await start_all(cfg)
    event = await first_event(make_trigger(cfg, log_tail_bytes=500))
    assert event["outcome"] == "failed"
    assert 0 < len(event["logs"]["noisy"]["stdout"]) <= 500


@pytest.mark.slow
async def test_deadline_while_running(local_job: Callable[..., Any]) -> None:
    cfg = await local_job({"long": "sleep 60"})
    await start_all(cfg)
    deadline = time.time() + 2.0
    started = time.monotonic()
    event = await first_event(make_trigger(cfg, deadline=deadline, check_interval=5.0))
    assert (event["outcome"], event["reason"]) == ("deadline", "deadline")
    # the loop wakes for the deadline instead of sleeping a whole interval past it
    assert time.monotonic() - started < 4.5
    assert event["programs"]["long"]["state"] == "RUNNING"


async def test_window_end_is_reported_apart_from_deadline(local_job: Callable[..., Any]) -> None:
    cfg = await local_job({"long": "sleep 60"})
    await start_all(cfg)
    event = await first_event(make_trigger(cfg, window_end=time.time() + 1.0, deadline=time.time() + 60))
    assert (event["outcome"], event["reason"]) == ("deadline", "window")


@pytest.mark.slow
async def test_unreachable_after_the_retry_budget(local_job: Callable[..., Any]) -> None:
    cfg = await local_job({"long": "sleep 60"})
    await start_all(cfg)
    trigger = make_trigger(cfg, unreachable_after=1.5)
    pid = int(cfg.resolved_pidfile.read_text())

    os.kill(pid, signal.SIGKILL)  # supervisord dies mid-run
    started = time.monotonic()
    event = await first_event(trigger)
    assert event["outcome"] == "unreachable"
    assert str(cfg.resolved_unix_socket) in event["endpoint"]
    assert event["unreachable_since"] is not None
    assert event["error"]
    assert 1.5 <= time.monotonic() - started < 10


@pytest.mark.slow
async def test_serialized_trigger_resumes_with_the_same_deadline(local_job: Callable[..., Any]) -> None:
    cfg = await local_job({"long": "sleep 60"})
    await start_all(cfg)
    original = make_trigger(cfg, deadline=time.time() + 2.0, restarts=1)
    classpath, kwargs = original.serialize()
    assert json.loads(json.dumps(kwargs)) == kwargs  # plain data only
    module, _, name = classpath.rpartition(".")
    recreated = getattr(importlib.import_module(module), name)(**kwargs)
    await asyncio.sleep(0.5)  # a triggerer restart takes time; the deadline must not move
    event = await first_event(recreated)
    assert event["outcome"] == "deadline"
    assert event["deadline"] == kwargs["deadline"]
    assert event["restarts"] == 1


def test_serialized_kwargs_hold_no_secret(tmp_path: Any) -> None:
    cfg = SupervisorAirflowConfiguration(
        working_dir="/tmp/asa-secret",
        airflow={"username": "ops", "password": "hunter2", "xmlrpc_conn_id": "supervisor_rpc"},
        program={"a": {"command": "true"}},
    )
    _, kwargs = make_trigger(cfg).serialize()
    assert "hunter2" not in json.dumps(kwargs)
    assert kwargs["endpoint"]["conn_id"] == "supervisor_rpc"
    with pytest.raises(ValueError, match="xmlrpc_conn_id"):
        public_endpoint(
            cfg.model_copy(
                update={"airflow": cfg.airflow.model_copy(update={"xmlrpc_conn_id": None})}
            ).xmlrpc_endpoint()
        )


def test_old_trigger_rows_still_load() -> None:
    trigger = SupervisorProgramsTrigger(endpoint={"unix_socket": "/tmp/x.sock"}, programs=["a"], removed_option=1)
    assert trigger.programs == ["a"]


@pytest.mark.slow
async def test_loop_never_blocks(local_job: Callable[..., Any]) -> None:
    """No step of the event loop the trigger runs takes more than a few milliseconds of CPU."""
    cfg = await local_job({"a": "sleep 1.5", "bad": FAILING})
    await start_all(cfg)
    async with longest_loop_step() as longest:
        event = await first_event(make_trigger(cfg, check_interval=0.05))
    assert event["outcome"] == "failed"
    assert longest[0] < 0.02, f"a loop step took {longest[0] * 1000:.1f} ms of CPU"


async def watch_fds(triggers: list[SupervisorProgramsTrigger], timeout: float = 60) -> tuple[list[dict], int]:
    """Run ``triggers`` to their events while sampling this process's open fds; (events, most fds seen)."""
    most = 0
    tasks = [asyncio.ensure_future(first_event(t, timeout)) for t in triggers]
    while not all(task.done() for task in tasks):
        most = max(most, open_fd_count())
        await asyncio.sleep(0.01)
    return await asyncio.gather(*tasks), most


def per_job_endpoints(socket: Path, links: Path, n: int, **endpoint: Any) -> list[dict[str, Any]]:
    """``n`` distinct endpoints for one supervisord (a symlink each): what one supervisord per job looks like."""
    endpoints = []
    for i in range(n):
        link = links / f"{i}.sock"
        link.symlink_to(socket)
        endpoints.append(public_endpoint(XmlRpcEndpoint(unix_socket=link, **endpoint)))
    return endpoints


@pytest.mark.slow
async def test_open_fds_do_not_grow_with_the_number_of_watched_jobs(
    local_job: Callable[..., Any], tmp_path: Path
) -> None:
    """One client per job (per-job layout), and still only the calls in flight hold a descriptor."""
    cfg = await local_job({"long": "sleep 60"})
    await start_all(cfg)
    fds_before = open_fd_count()
    limit = 6
    previous = set_local_connection_limit(limit)
    try:
        for n in (10, 200):
            links = tmp_path / f"links-{n}"
            links.mkdir()
            window = time.time() + 3.0
            endpoints = per_job_endpoints(cfg.resolved_unix_socket, links, n)
            triggers = [make_trigger(cfg, endpoint=e, window_end=window, check_interval=0.5) for e in endpoints]
            events, most = await watch_fds(triggers)
            assert {(e["outcome"], e["reason"]) for e in events} == {("deadline", "window")}
            assert all(e["programs"]["long"]["state"] == "RUNNING" for e in events)  # each polled to the end
            assert most - fds_before <= limit, f"{n} jobs: {most - fds_before} fds over the {limit} in flight"
            assert shared_client_count() == 0  # every client was released
    finally:
        set_local_connection_limit(previous)
    assert open_fd_count() <= fds_before


@pytest.mark.slow
@pytest.mark.ssh
async def test_over_ssh_open_fds_do_not_grow_and_no_temp_dir_is_left(
    sshd: RunningSshd, local_job: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """200 remote jobs (one endpoint each) through one SSH connection: channels, not local sockets or files."""
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))  # whatever the code would leave, it is here
    cfg = await local_job({"long": "sleep 60"})
    await start_all(cfg)
    links = tmp_path / "links"
    links.mkdir()
    before = established(sshd.port)
    fds_before = open_fd_count()
    endpoints = per_job_endpoints(cfg.resolved_unix_socket, links, 200, ssh=sshd.ssh_config())
    window = time.time() + 4.0
    try:
        triggers = [make_trigger(cfg, endpoint=e, window_end=window, check_interval=0.5) for e in endpoints]
        events, most = await watch_fds(triggers)
        assert {(e["outcome"], e["reason"]) for e in events} == {("deadline", "window")}
        assert all("via ssh://" in e["endpoint"] for e in events)
        assert most - fds_before <= 1  # the one SSH connection
        assert get_pool().live_connections() == 1
        assert established(sshd.port) == before + 1
        assert list(private_tmp.iterdir()) == []
    finally:
        await get_pool().close()
    assert list(private_tmp.iterdir()) == []


@pytest.mark.slow
async def test_a_stopped_supervisord_is_unreachable_in_bounded_time(local_job: Callable[..., Any]) -> None:
    """SIGSTOP: connections are accepted, nothing answers. Reported within unreachable_after + call_timeout."""
    cfg = await local_job({"long": "sleep 60"})
    await start_all(cfg)
    pid = int(cfg.resolved_pidfile.read_text())
    trigger = make_trigger(cfg, unreachable_after=2.0, call_timeout=1.0, check_interval=0.2)
    os.kill(pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        event = await first_event(trigger)
        elapsed = time.monotonic() - started
    finally:
        os.kill(pid, signal.SIGCONT)
    assert event["outcome"] == "unreachable"
    assert "no complete answer" in event["error"]  # the call's deadline, not a refused connection
    # first poll within 0.2 s (jittered), then 2 s of retries, the last one taking at most its 1 s
    assert 2.0 <= elapsed < 0.25 + 2.0 + 1.0 + 1.0, f"reported after {elapsed:.1f} s"


@pytest.mark.slow
async def test_a_dripping_server_is_unreachable_in_bounded_time() -> None:
    """One byte every 0.5 s, forever: the poll's deadline ends each attempt, the budget ends the watch."""
    drip = await DripServer().start()
    try:
        trigger = SupervisorProgramsTrigger(
            endpoint=public_endpoint(XmlRpcEndpoint(port=drip.port)),
            programs=["long"],
            check_interval=0.2,
            unreachable_after=1.5,
            call_timeout=1.0,
        )
        started = time.monotonic()
        event = await first_event(trigger)
        elapsed = time.monotonic() - started
    finally:
        await drip.close()
    assert event["outcome"] == "unreachable"
    assert f"127.0.0.1:{drip.port}" in event["endpoint"]
    assert 1.5 <= elapsed < 0.25 + 1.5 + 1.0 + 1.0, f"reported after {elapsed:.1f} s"
    assert drip.connections >= 2  # it retried meanwhile


def test_default_call_timeout_follows_the_unreachable_budget() -> None:
    def poll_timeout(**kwargs: Any) -> float:
        return SupervisorProgramsTrigger(endpoint={"unix_socket": "/x.sock"}, programs=["a"], **kwargs).poll_timeout

    assert poll_timeout(unreachable_after=60) == 30  # at most 30 s
    assert poll_timeout(unreachable_after=12) == 12
    assert poll_timeout(unreachable_after=1) == 5  # at least 5 s
    assert poll_timeout(unreachable_after=60, call_timeout=2) == 2
    trigger = SupervisorProgramsTrigger(endpoint={"unix_socket": "/x.sock"}, programs=["a"], call_timeout=6)
    assert trigger.client_options() == {"connect_timeout": 2, "read_timeout": 4}  # what bounds each poll
    _, kwargs = SupervisorProgramsTrigger(endpoint={"unix_socket": "/x.sock"}, programs=["a"]).serialize()
    assert kwargs["call_timeout"] is None  # the default stays a default across upgrades
