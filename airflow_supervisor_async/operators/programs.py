"""Steps 3 and 8: start and stop the programs through supervisord's XML-RPC interface."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from supervisor.xmlrpc import Faults

from ..client import SupervisorConnectionError, SupervisorFault
from ..client.models import ProcessState
from ..host import lifecycle
from .base import SupervisorStepOperator, run_sync
from .routing import SupervisorTeardownOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

    from ..client import ProcessInfo, SupervisorClient

__all__ = ("StartProgramsOperator", "StopProgramsOperator")


class StartProgramsOperator(SupervisorStepOperator):
    """Step 3: start the programs that are not running (idempotent).

    Programs already running are restarted when the configuration asks for it: ``restart_on_initial``
    for a DAG run started by the schedule or by hand, ``restart_on_retrigger`` for a continuation run.
    Returns ``{program: "started" | "restarted" | "running"}``.
    """

    def execute(self, context: Context) -> dict[str, str]:
        continuation = self.inherited(context).retrigger > 0
        restart = self.cfg.restart_on_retrigger if continuation else self.cfg.restart_on_initial
        result = run_sync(lambda: self.reaching(lambda: self._start(restart)))
        self.log.info("programs: %s", result)
        return result

    async def _start(self, restart: bool) -> dict[str, str]:
        async with self.client() as client:
            infos = [i for i in await client.get_all_process_info() if i.group in self.cfg.program]
            actions = await asyncio.gather(*(self._start_one(client, info, restart) for info in infos))
        result: dict[str, str] = {}
        for group, action in actions:
            result[group] = action if result.get(group, action) == action else "started"
        missing = sorted(set(self.cfg.program) - set(result))
        if missing:
            raise RuntimeError(f"supervisord does not know program(s) {missing}: is it running an older config?")
        return result

    async def _start_one(self, client: SupervisorClient, info: ProcessInfo, restart: bool) -> tuple[str, str]:
        group, full, active = info.group, info.display_name, info.state.is_running
        if active:
            if not restart:
                return group, "running"
            await client.stop_process(full, wait=True)
        try:
            await client.start_process(full, wait=True)
        except SupervisorFault as exc:
            if exc.code == Faults.ALREADY_STARTED:
                return group, "running"
            tail = await _stderr_tail(client, full)
            raise RuntimeError(f"program {full!r} did not start: {exc}{tail}") from exc
        return group, "restarted" if active else "started"


async def _stderr_tail(client: SupervisorClient, name: str, size: int = 2048) -> str:
    try:
        tail = await client.tail_process_stderr_log(name, 0, size)
    except Exception:  # the log is a courtesy in an error message; never mask the real error
        return ""
    return f"\n---- {name} stderr (last {size} bytes) ----\n{tail.text}" if tail.text else ""


class StopProgramsOperator(SupervisorTeardownOperator):
    """Step 8: stop the programs (idempotent: stopped ones are fine). Skipped when the job keeps running."""

    def execute(self, context: Context) -> list[str]:
        self.skip_unless_tearing_down(context, "programs")
        return run_sync(lambda: self.reaching(self._stop))

    async def _stop(self) -> list[str]:
        stopped: list[str] = []
        async with self.client() as client:
            try:
                infos = await client.get_all_process_info()
            except SupervisorConnectionError as exc:
                # not answering is not "not running": a partitioned host still runs them. Ask the host.
                if await self.with_host(lambda host: lifecycle.supervisord_pid(host, self.cfg)) is not None:
                    raise
                self.log.info("supervisord is not running (%s): no program to stop", exc)
                return stopped
            for info in infos:
                if info.group in self.cfg.program and (info.state.is_running or info.state is ProcessState.STOPPING):
                    full = info.display_name
                    try:
                        await client.stop_process(full, wait=True)
                    except SupervisorFault as exc:
                        if exc.code != Faults.NOT_RUNNING:
                            raise
                    stopped.append(full)
        self.log.info("stopped: %s", stopped or "nothing was running")
        return stopped
