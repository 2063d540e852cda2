"""Steps 1, 2, 9, 10 and the emergency stop: config file and supervisord process, on the local or SSH host."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from ..client import SupervisorError
from ..host import RunId, lifecycle
from ..version_compat import AirflowSkipException
from .base import SupervisorStepOperator, run_sync
from .registration import register_job
from .routing import SupervisorTeardownOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

__all__ = (
    "ForceKillSupervisorOperator",
    "RemoveSupervisorConfigOperator",
    "StartSupervisorOperator",
    "StopSupervisorOperator",
    "WriteSupervisorConfigOperator",
)

_OVER = frozenset({"success", "failed"})  # DagRunState values


class WriteSupervisorConfigOperator(SupervisorStepOperator):
    """Step 1: take the job's lease for this DAG run, set up ``working_dir`` and write supervisord.conf
    (atomically, mode 0600).

    Fails, changing nothing, while another DAG run drives the job (see ``host.lease``); a run that is over
    (success, failed, or gone) is taken over from.
    """

    def execute(self, context: Context) -> str:
        cfg = self.resolved_cfg()
        run = self.job_run(context)
        ti = context["ti"]

        previous = self.inherited(context).previous_run_id

        async def is_over(holder: RunId) -> bool:
            if holder == RunId(run.dag_id, str(previous)):
                return True  # this run continues that one's job
            try:
                state = ti.get_dagrun_state(dag_id=holder.dag_id, run_id=holder.run_id)
            except Exception as exc:  # the run is gone (deleted) or the API cannot tell: it drives nothing
                self.log.info("state of %s unknown (%s): taking over", holder, type(exc).__name__)
                return True
            value = str(getattr(state, "value", state))  # a DagRunState or its text
            self.log.info("the job's lease is held by %s, which is %s", holder, value)
            return value in _OVER

        write = lambda host: lifecycle.write_config(host, cfg, run=run, may_take_over=is_over)  # noqa: E731
        path = run_sync(lambda: self.reaching(lambda: self.with_host(write)))
        self.log.info("supervisord config written to %s", path)
        return str(path)


class StartSupervisorOperator(SupervisorStepOperator):
    """Step 2: start supervisord unless it runs, and wait until its XML-RPC interface answers.

    :param startup_timeout: seconds to wait for supervisord to answer. Default 30.
    """

    def __init__(self, *, startup_timeout: float = 30.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.startup_timeout = startup_timeout

    async def _start(self) -> int:
        pid = await self.reaching(
            lambda: self.with_host(
                lambda host: lifecycle.start_supervisord(host, self.cfg, timeout=self.startup_timeout)
            )
        )
        deadline = time.monotonic() + self.startup_timeout
        async with self.client() as client:
            while True:
                try:
                    state = await client.get_state()
                    self.log.info("supervisord (pid %d) is %s", pid, state.statename)
                    return pid
                except SupervisorError as exc:
                    if time.monotonic() > deadline:
                        raise RuntimeError(
                            f"supervisord (pid {pid}) started but {self.cfg.xmlrpc_endpoint().describe()} did not "
                            f"answer within {self.startup_timeout:g} s: {exc}"
                        ) from exc
                await asyncio.sleep(0.2)

    def execute(self, context: Context) -> int:
        pid = run_sync(self._start)
        register_job(self, self.cfg, context)  # the supervisor page in Airflow's UI finds the job by it
        return pid


class StopSupervisorOperator(SupervisorTeardownOperator):
    """Step 9: stop supervisord (idempotent), SIGKILLing what SIGTERM does not end in time (a hung
    supervisord). Skipped when the job keeps running (``stop_on_exit`` false) or another run drives it."""

    def execute(self, context: Context) -> bool:
        self.skip_unless_tearing_down(context, "supervisord")
        return run_sync(
            lambda: self.reaching(lambda: self.with_host(lambda host: lifecycle.stop_supervisord(host, self.cfg)))
        )


class RemoveSupervisorConfigOperator(SupervisorTeardownOperator):
    """Step 10: remove what the configure step created, as its manifest lists it (idempotent). Skipped unless
    ``cleanup`` applies. When the job failed (it did not reach end-monitoring) the logs are kept in place and
    the task log says where."""

    def execute(self, context: Context) -> list[str]:
        self.skip_unless_tearing_down(context, "the config")
        if not self.cfg.cleanup:
            raise AirflowSkipException("cleanup is off: the config and logs are kept")
        route = self.route(context)
        failed = self.route_task_id is not None and route is None  # the job never reached end-monitoring
        cleanup = run_sync(
            lambda: self.reaching(
                lambda: self.with_host(lambda host: lifecycle.remove_config(host, self.cfg, keep_logs=failed))
            )
        )
        if failed:
            logs = [str(p) for name in self.cfg.program for p in dict.fromkeys(self.cfg.program_log_paths(name))]
            self.log.warning(
                "the job failed: its logs are kept for you in %s (%s, and supervisord.log); the next run of the "
                "job reuses the folder, and its cleanup removes them",
                self.cfg.resolved_working_dir,
                ", ".join(logs),
            )
        self.log.info("removed: %s", ", ".join(cleanup.removed) or "nothing")
        return cleanup.removed


class ForceKillSupervisorOperator(SupervisorStepOperator):
    """Emergency stop: SIGKILL supervisord and its programs' process groups (idempotent)."""

    def execute(self, context: Context) -> bool:
        return run_sync(
            lambda: self.reaching(lambda: self.with_host(lambda host: lifecycle.force_kill(host, self.cfg)))
        )
