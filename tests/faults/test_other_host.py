"""Scenario 10: the triggerer runs on another host than the worker that started a local-shape job.

The "other host" is real as far as the trigger can tell: a process in its own UTS namespace (another host
name) and mount namespace where the job's ``working_dir`` is an empty tmpfs, as on a machine that does not
share the worker's ``/tmp``. The worker side is this test process with a real supervisord.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

import pytest

pytest.importorskip("airflow")  # the sensor and the trigger are Airflow's: skipped where it is not installed

from airflow_supervisor_async.sensors import SupervisorProgramsSensor
from airflow_supervisor_async.triggers.programs import this_host
from tests.support.faults import skip_or_fail

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.support.fault_table import FaultRow

pytestmark = [pytest.mark.faults, pytest.mark.airflow]

_RUN_TRIGGER = """
import asyncio, json, sys
from airflow_supervisor_async.triggers import SupervisorProgramsTrigger

async def main():
    trigger = SupervisorProgramsTrigger(**json.loads(sys.argv[1]))
    try:
        async for event in trigger.run():
            print(json.dumps(event.payload))
            return
    finally:
        await trigger.cleanup()

asyncio.run(main())
"""


def run_trigger_elsewhere(kwargs: dict[str, Any], hide: str, *, hostname: str | None, timeout: float = 60) -> dict:
    """Run the trigger in a process that does not see ``hide`` (an empty tmpfs) and, with ``hostname``, has
    another host name; return its event."""
    rename = f"hostname {hostname} && " if hostname else ""
    script = f'{rename}mount -t tmpfs asa-other-host {hide} && exec {sys.executable} -c "$0" "$1"'
    uts = ["--uts"] if hostname else []
    result = subprocess.run(
        ["unshare", *uts, "--mount", "--propagation", "private", "sh", "-c", script, _RUN_TRIGGER, json.dumps(kwargs)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def can_unshare() -> None:
    if shutil.which("unshare") is None:
        skip_or_fail("util-linux `unshare` is not installed")
    probe = subprocess.run(["unshare", "--uts", "--mount", "true"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        skip_or_fail(f"cannot create UTS and mount namespaces here: {probe.stderr.strip()}")


@pytest.mark.slow
async def test_triggerer_on_another_host_names_both_hosts(
    can_unshare: None, local_job: Callable[..., Any], fault_row: Callable[[str], FaultRow]
) -> None:
    row = fault_row("10")
    cfg = await local_job({"long": "sleep 60"})
    sensor = SupervisorProgramsSensor(task_id="check-programs", cfg=cfg)
    _, kwargs = sensor._trigger(0, None, None).serialize()
    worker = this_host()
    assert kwargs["worker_host"] == worker  # the worker records its host in the trigger row

    started = time.monotonic()
    event = run_trigger_elsewhere(
        {**kwargs, "unreachable_after": 30}, str(cfg.resolved_working_dir), hostname="asa-triggerer-b"
    )
    detected = time.monotonic() - started

    assert event["outcome"] == "unreachable", event
    assert event["reason"] == "other_host", event
    error = event["error"]
    assert "'asa-triggerer-b'" in error, error
    assert repr(worker) in error, error
    assert str(cfg.resolved_unix_socket) in error, error
    assert "remote shape" in error, error
    assert detected < 30, f"waited out unreachable_after ({detected:.1f} s) instead of saying so at once"
    row.note(f"the watch ended after {detected:.1f} s (unreachable_timeout 30 s) with: {error[:200]}...")
    row.detect = f"{detected:.1f} s (first failed poll, incl. starting the triggerer process)"
    row.data_lost = "none: the job's supervisord and program ran on; nothing was stopped"


@pytest.mark.slow
async def test_same_host_without_the_socket_waits_out_the_budget(
    can_unshare: None, local_job: Callable[..., Any]
) -> None:
    """On the worker's own host a missing socket is no placement problem: the usual retry budget applies."""
    cfg = await local_job({"long": "sleep 60"})
    _, kwargs = SupervisorProgramsSensor(task_id="check-programs", cfg=cfg)._trigger(0, None, None).serialize()
    started = time.monotonic()
    event = run_trigger_elsewhere(
        {**kwargs, "unreachable_after": 2, "check_interval": 0.2}, str(cfg.resolved_working_dir), hostname=None
    )
    assert event["outcome"] == "unreachable", event
    assert event.get("reason") != "other_host", event
    assert time.monotonic() - started >= 2
    assert "another host" not in event["error"]
    assert "runs on host" not in event["error"]
