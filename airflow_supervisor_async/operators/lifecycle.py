"""Steps 1, 2, 9, 10 and the emergency stop: config file and supervisord process, on the local or SSH host."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from ..client import SupervisorError
from ..host import lifecycle
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


class WriteSupervisorConfigOperator(SupervisorStepOperator):
    """Step 1: write supervisord.conf (atomically, mode 0600 when it holds a password hash)."""

    def execute(self, context: Context) -> str:
        cfg = self.resolved_cfg()
        path = run_sync(lambda: self.reaching(lambda: self.with_host(lambda host: lifecycle.write_config(host, cfg))))
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
    """Step 9: stop supervisord (idempotent). Skipped when the job keeps running (``stop_on_exit`` false)."""

    def execute(self, context: Context) -> bool:
        self.skip_unless_tearing_down(context, "supervisord")
        return run_sync(
            lambda: self.reaching(lambda: self.with_host(lambda host: lifecycle.stop_supervisord(host, self.cfg)))
        )


class RemoveSupervisorConfigOperator(SupervisorTeardownOperator):
    """Step 10: remove the config and ``working_dir`` (idempotent). Skipped unless ``cleanup`` applies."""

    def execute(self, context: Context) -> None:
        self.skip_unless_tearing_down(context, "the config")
        if not self.cfg.cleanup:
            raise AirflowSkipException("cleanup is off: the config and logs are kept")
        run_sync(lambda: self.reaching(lambda: self.with_host(lambda host: lifecycle.remove_config(host, self.cfg))))


class ForceKillSupervisorOperator(SupervisorStepOperator):
    """Emergency stop: SIGKILL supervisord and its programs' process groups (idempotent)."""

    def execute(self, context: Context) -> bool:
        return run_sync(
            lambda: self.reaching(lambda: self.with_host(lambda host: lifecycle.force_kill(host, self.cfg)))
        )
