"""Steps 4-6: watch the programs from the triggerer; restart failed ones and keep watching.

The sensor checks once on the worker, then defers to ``SupervisorProgramsTrigger``: while the
programs run, the task holds no worker slot. State that must survive (restart count, deadlines)
travels in the trigger kwargs and comes back in the event, so it also survives ``airflow dags test``
(which resumes a task with the event only).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any, TypeVar

from airflow.sdk import BaseSensorOperator
from supervisor.xmlrpc import Faults

from ..client import SupervisorError, SupervisorFault
from ..decisions import MonitoringEvent, Outcome, RunDates, compute_deadline
from ..hooks.job import SupervisorStepMixin, run_sync
from ..hooks.supervisor import public_endpoint
from ..host import lifecycle
from ..host.base import HostCommandError
from ..triggers.programs import SupervisorProgramsTrigger, this_host
from ..version_compat import AirflowException

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from airflow.sdk import Context

    from ..client import SupervisorClient
    from ..config import SupervisorAirflowConfiguration
    from ..host.base import Host

__all__ = ("RestartProgramsOperator", "SupervisorProgramsSensor", "run_dates")

T = TypeVar("T")
#: seconds to look at the host for a killed supervisord once the watch found it unreachable
_DIAGNOSIS_TIMEOUT = 20.0


def run_dates(context: Context) -> RunDates:
    """The dates of the task's DAG run that ``reference_date`` may name."""
    dag_run = context.get("dag_run")
    return RunDates(
        start_date=getattr(dag_run, "start_date", None),
        logical_date=context.get("logical_date"),
        data_interval_end=context.get("data_interval_end"),
        run_after=getattr(dag_run, "run_after", None),
    )


class SupervisorProgramsSensor(SupervisorStepMixin, BaseSensorOperator):
    """Step 4: watch the job's programs without holding a worker slot.

    Returns the monitoring event (XCom ``return_value``): outcome ``done``, ``failed`` or ``deadline``
    with the programs' states. ``unreachable`` fails the task with what could not be reached and since
    when. With ``restart_failed``, failed programs are restarted and watched again (step 6) until
    ``max_restarts`` is used up.

    :param cfg: the job's configuration.
    :param restart_failed: restart failed programs and keep watching instead of returning ``failed``.
    :param restart_first_from: task id whose ``failed`` event lists programs to restart before watching.
    """

    ui_color = "#d5f5e3"

    def __init__(
        self,
        *,
        cfg: SupervisorAirflowConfiguration,
        restart_failed: bool = False,
        restart_first_from: str | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("poke_interval", cfg.check_interval.total_seconds())
        super().__init__(**self.with_pool(cfg, kwargs))
        self.cfg = cfg
        self.restart_failed = restart_failed
        self.restart_first_from = restart_first_from

    # -- worker side -------------------------------------------------------------------------
    def execute(self, context: Context) -> MonitoringEvent | None:
        restarts = self.inherited(context).restarts
        if self.restart_first_from:
            payload = context["ti"].xcom_pull(task_ids=self.restart_first_from) or {}
            restarts = self._restart(payload.get("failed", []), restarts)
        deadline = compute_deadline(self.cfg, run_dates(context))
        window_end = time.time() + self.cfg.check_timeout.total_seconds()
        first = run_sync(lambda: self._check_once(restarts, deadline, window_end))
        if first is not None:
            return self.execute_complete(context, first)
        self._defer(restarts, deadline, window_end)
        return None

    def execute_complete(self, context: Context, event: MonitoringEvent | None = None) -> MonitoringEvent:
        """Resume with the trigger's event: decide, restart-and-defer, or fail."""
        if not event or "outcome" not in event:
            raise AirflowException(f"monitoring ended without an outcome: {event!r}")
        outcome, restarts = event["outcome"], int(event.get("restarts", 0))
        self._log_event(event)
        if outcome == Outcome.UNREACHABLE:
            gone = run_sync(self._dead_supervisord)
            raise AirflowException(
                (gone + "; " if gone else "")
                + f"supervisord unreachable at {event.get('endpoint')} since {event.get('unreachable_since')}: "
                f"{event.get('error')}"
            )
        if outcome == Outcome.FAILED and self.restart_failed:
            restarts = self._restart(event.get("failed", []), restarts)
            self._defer(restarts, event.get("deadline"), event.get("window_end"))
        return event

    def _defer(self, restarts: int, deadline: float | None, window_end: float | None) -> None:
        self.defer(trigger=self._trigger(restarts, deadline, window_end), method_name="execute_complete")

    def _trigger(self, restarts: int, deadline: float | None, window_end: float | None) -> SupervisorProgramsTrigger:
        cfg = self.cfg
        endpoint = cfg.xmlrpc_endpoint()
        return SupervisorProgramsTrigger(
            endpoint=public_endpoint(endpoint),
            programs=list(cfg.program),
            exitcodes={name: list(p.exitcodes or []) for name, p in cfg.effective_configuration().program.items()},
            check_interval=cfg.check_interval.total_seconds(),
            deadline=deadline,
            window_end=window_end,
            unreachable_after=cfg.unreachable_timeout.total_seconds(),
            log_tail_bytes=cfg.log_tail_bytes,
            restarts=restarts,
            # a local-shape job is reachable from this host only: the trigger says so when it runs elsewhere
            worker_host=this_host() if endpoint.ssh is None else None,
        )

    async def _dead_supervisord(self) -> str | None:
        """Why supervisord does not answer, when its host does: it was killed (a stale pid file). Bounded."""
        import asyncssh  # not at the top: DAG files with local jobs only never pay its import

        try:
            async with asyncio.timeout(min(_DIAGNOSIS_TIMEOUT, self.cfg.unreachable_timeout.total_seconds())):
                pid, where = await self.with_host(
                    lambda host: _with_description(host, lifecycle.dead_supervisord(host, self.cfg))
                )
        except (TimeoutError, OSError, HostCommandError, asyncssh.Error) as exc:
            self.log.info("could not look at the host to tell why supervisord does not answer: %s", exc)
            return None
        if pid is None:
            return None
        return (
            f"supervisord (pid {pid}) on {where} is gone: its pid file {self.cfg.resolved_pidfile} remains but no such "
            "process runs (it was killed or crashed); the teardown kills the programs it left behind"
        )

    async def _check_once(
        self, restarts: int, deadline: float | None, window_end: float | None
    ) -> MonitoringEvent | None:
        """One poll on the worker: a finished or failed job needs no deferral."""
        trigger = self._trigger(restarts, deadline, window_end)
        async with self.client() as client:
            try:
                return await trigger.poll(client, self.cfg.xmlrpc_endpoint().describe())
            except SupervisorError as exc:
                self.log.warning("first check failed (%s); the trigger keeps trying", exc)
                return None

    def _log_event(self, event: MonitoringEvent) -> None:
        self.log.info(
            "monitoring outcome %s (%s); restarts so far: %s",
            event["outcome"],
            event.get("reason") or "-",
            event.get("restarts", 0),
        )
        for name, info in sorted((event.get("programs") or {}).items()):
            self.log.info("  %-30s %-9s exit=%s", name, info.get("state"), info.get("exitstatus"))
        for name, streams in sorted((event.get("logs") or {}).items()):
            for stream, text in sorted(streams.items()):
                if text:
                    self.log.info("---- %s %s (last %d bytes) ----\n%s", name, stream, len(text.encode()), text)

    # -- step 6 --------------------------------------------------------------------------------
    def _restart(self, names: list[str], restarts: int) -> int:
        limit = self.cfg.max_restarts
        if limit is not None and restarts >= limit:
            raise AirflowException(
                f"program(s) {', '.join(names) or '?'} failed again after {restarts} restart(s); "
                f"max_restarts={limit} is used up"
            )
        self.log.info(
            "restarting %s (restart %d%s)", ", ".join(names), restarts + 1, f" of {limit}" if limit is not None else ""
        )
        run_sync(lambda: self._restart_programs(names))
        return restarts + 1

    async def _restart_programs(self, names: list[str]) -> None:
        async with self.client() as client:
            for name in names:
                # a failed program never runs again by itself (autorestart is off): one that runs was restarted by
                # an earlier try of this task that died (worker lost) -- not restarted twice
                state = (await client.get_process_info(name)).state
                if state.is_running:  # STARTING, RUNNING or BACKOFF
                    self.log.info("%s is %s again (restarted by an earlier try): not restarted twice", name, state.name)
                    continue
                await _stop_quietly(client, name)
                await client.start_process(name, wait=True)


async def _with_description(host: Host, value: Awaitable[T]) -> tuple[T, str]:
    return await value, host.description


async def _stop_quietly(client: SupervisorClient, name: str) -> None:
    try:
        await client.stop_process(name, wait=True)
    except SupervisorFault as exc:
        if exc.code != Faults.NOT_RUNNING:
            raise


class RestartProgramsOperator(SupervisorProgramsSensor):
    """Step 6: restart the programs the monitoring found failed, then watch again (deferred, no slot).

    Further failures are restarted in place until ``max_restarts`` is used up; then the task fails
    with the programs' log tails in its log.

    :param check_task_id: the monitoring task whose ``failed`` event lists the programs to restart.
    """

    ui_color = "#fadbd8"

    def __init__(self, *, check_task_id: str, **kwargs: Any) -> None:
        super().__init__(restart_failed=True, restart_first_from=check_task_id, **kwargs)
        self.check_task_id = check_task_id
