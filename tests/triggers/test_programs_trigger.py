"""The monitoring trigger against a real supervisord: every outcome, resumption, and a non-blocking loop."""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import os
import signal
import time
from typing import TYPE_CHECKING, Any

import pytest

from airflow_supervisor_async.client import SupervisorClient
from airflow_supervisor_async.config import SupervisorAirflowConfiguration
from airflow_supervisor_async.hooks.supervisor import public_endpoint
from airflow_supervisor_async.triggers import SupervisorProgramsTrigger

if TYPE_CHECKING:
    from collections.abc import Callable

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


async def test_done_when_every_program_exits_cleanly(local_job: Callable[..., Any]) -> None:
    cfg = await local_job({"a": "sleep 1.2", "b": "bash -c 'sleep 1.5; exit 0'"})
    await start_all(cfg)
    event = await first_event(make_trigger(cfg))
    assert event["outcome"] == "done"
    assert {name: p["state"] for name, p in event["programs"].items()} == {"a": "EXITED", "b": "EXITED"}
    assert event["failed"] == []
    assert event["logs"] == {}


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


async def test_nonzero_exit_listed_in_exitcodes_is_done(local_job: Callable[..., Any]) -> None:
    cfg = await local_job({"three": "bash -c 'sleep 1.2; exit 3'"})
    await start_all(cfg)
    event = await first_event(make_trigger(cfg, exitcodes={"three": [0, 3]}))
    assert event["outcome"] == "done"


async def test_log_tails_are_bounded(local_job: Callable[..., Any]) -> None:
    cfg = await local_job({"noisy": "bash -c 'head -c 200000 /dev/zero | tr \"\\0\" x; sleep 1.2; exit 1'"})
    await start_all(cfg)
    event = await first_event(make_trigger(cfg, log_tail_bytes=500))
    assert event["outcome"] == "failed"
    assert 0 < len(event["logs"]["noisy"]["stdout"]) <= 500


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


async def test_loop_never_blocks(local_job: Callable[..., Any], caplog: pytest.LogCaptureFixture) -> None:
    """asyncio debug mode reports callbacks slower than 50 ms; the trigger must cause none."""
    cfg = await local_job({"a": "sleep 1.5", "bad": FAILING})
    await start_all(cfg)
    loop = asyncio.get_running_loop()
    loop.set_debug(True)
    loop.slow_callback_duration = 0.05
    try:
        with caplog.at_level(logging.WARNING, logger="asyncio"):
            event = await first_event(make_trigger(cfg, check_interval=0.05))
    finally:
        loop.set_debug(False)
    assert event["outcome"] == "failed"
    slow = [r.getMessage() for r in caplog.records if r.name == "asyncio" and "took" in r.getMessage()]
    assert slow == []


async def test_many_triggers_share_one_client_per_supervisord(local_job: Callable[..., Any]) -> None:
    """A triggerer with many jobs on one supervisord opens a handful of connections, not one per trigger."""
    from airflow_supervisor_async.client import shared_client_count

    cfg = await local_job({"long": "sleep 60"})
    await start_all(cfg)
    fds_before = len(os.listdir("/proc/self/fd"))
    window = time.time() + 2.0
    triggers = [make_trigger(cfg, window_end=window, check_interval=0.1) for _ in range(200)]
    tasks = [asyncio.ensure_future(first_event(t)) for t in triggers]
    await asyncio.sleep(1.0)
    assert shared_client_count() == 1
    assert len(os.listdir("/proc/self/fd")) - fds_before <= 12  # at most max_connections (10) sockets
    events = await asyncio.gather(*tasks)
    assert {(e["outcome"], e["reason"]) for e in events} == {("deadline", "window")}
    assert shared_client_count() == 0  # the last user closed it
