"""What every task of a job shares -- the step operators and the monitoring sensor alike: the job's
configuration, its host, a client for its supervisord, its lease, retries while it cannot be reached, and
running async code from a task."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import SecretStr

from ..client import SupervisorConnectionError
from ..decisions import job_state
from ..host import make_host
from .ssh import run_in_new_loop as run_sync
from .supervisor import SupervisorHook

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from airflow.sdk import Context

    from ..client import SupervisorClient
    from ..config import SupervisorAirflowConfiguration
    from ..decisions import JobState
    from ..host import Host, RunId

__all__ = ("SupervisorStepMixin", "is_unreachable", "run_sync")

T = TypeVar("T")
_MAX_RETRY_DELAY = 5.0


def is_unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` says the host or supervisord could not be reached (worth another try), not that a
    reachable host refused or failed what was asked."""
    import asyncssh

    from ..host import HostCommandError

    if isinstance(exc, HostCommandError):  # a command that could not run says why in its cause
        return exc.__cause__ is not None and is_unreachable(exc.__cause__)
    transient = (SupervisorConnectionError, ConnectionError, TimeoutError, asyncssh.DisconnectError)
    return isinstance(exc, (*transient, asyncssh.SFTPConnectionLost, asyncssh.ProcessError))


class SupervisorStepMixin:
    """Configuration access shared by the step operators and the monitoring sensor.

    The configuration is a plain attribute, not a template field, so it is never rendered into
    the UI; secrets in it are read from Airflow connections where the task runs.
    """

    cfg: SupervisorAirflowConfiguration

    @staticmethod
    def with_pool(cfg: SupervisorAirflowConfiguration, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Operator kwargs with the job's ``pool`` unless the caller chose one."""
        if cfg.pool and "pool" not in kwargs:
            kwargs = {**kwargs, "pool": cfg.pool}
        return kwargs

    def resolved_cfg(self) -> SupervisorAirflowConfiguration:
        """The configuration with XML-RPC credentials read from ``airflow.xmlrpc_conn_id`` (if set).

        The password is validated into a ``SecretStr`` (never shown by ``repr`` or in logs).
        """
        from ..config import AirflowConfiguration

        if self.cfg.airflow.xmlrpc_conn_id is None:
            return self.cfg
        endpoint = SupervisorHook(self.cfg.xmlrpc_endpoint()).resolve()
        password = endpoint.password
        secret = password.get_secret_value() if isinstance(password, SecretStr) else password
        airflow = AirflowConfiguration.model_validate(
            {**self.cfg.airflow.model_dump(exclude_unset=True), "username": endpoint.username, "password": secret}
        )
        return self.cfg.model_copy(update={"airflow": airflow})

    @staticmethod
    def inherited(context: Context) -> JobState:
        """What this DAG run inherits from the run it continues: counts and that run's id (zeros, None otherwise)."""
        return job_state(getattr(context.get("dag_run"), "conf", None))

    def job_run(self, context: Context) -> RunId:
        """This DAG run, as the holder of the job's lease."""
        from ..host import RunId

        return RunId(context["dag_run"].dag_id, context["dag_run"].run_id)

    def skip_unless_this_run_drives_the_job(self, context: Context, what: str) -> None:
        """Raise ``AirflowSkipException`` when another DAG run holds the job's lease: its teardown is its own.

        Reading the lease waits out an unreachable host like the step itself (``reaching``): a teardown that
        starts during a partition must not fail on its first look at the host."""
        from ..host.lease import read_lease
        from ..version_compat import AirflowSkipException

        holder = run_sync(lambda: self.reaching(lambda: self.with_host(lambda host: read_lease(host, self.cfg))))
        if holder is not None and holder != self.job_run(context):
            raise AirflowSkipException(f"the job is driven by {holder}: this run leaves {what} alone")

    def client(self) -> SupervisorClient:
        """A new client for this job's supervisord (use as ``async with``)."""
        from ..client import SupervisorClient

        return SupervisorClient.from_endpoint(SupervisorHook(self.cfg.xmlrpc_endpoint()).resolve())

    async def reaching(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """Run the idempotent ``attempt``, again while the host or supervisord cannot be reached.

        Tries for up to ``unreachable_timeout`` from the first failure (1 s, 2 s, ... at most 5 s apart): a
        network partition or an sshd restart shorter than that costs the step nothing. Then raises
        ``SupervisorConnectionError`` saying what could not be reached and since when.
        """
        budget = self.cfg.unreachable_timeout.total_seconds()
        failing_since: float | None = None
        delay = 1.0
        while True:
            try:
                return await attempt()
            except Exception as exc:
                if not is_unreachable(exc):
                    raise
                failing_since = failing_since or time.time()
                left = failing_since + budget - time.time()
                where = self.cfg.xmlrpc_endpoint().describe()
                if left <= 0:
                    since = datetime.fromtimestamp(failing_since, UTC).isoformat(timespec="seconds")
                    raise SupervisorConnectionError(
                        f"could not reach supervisord at {where} since {since} "
                        f"(unreachable_timeout {budget:g} s): {exc}"
                    ) from exc
                log = getattr(self, "log", None)
                if log is not None:
                    log.warning("cannot reach %s (%s); trying again for %.0f s more", where, exc, left)
                await asyncio.sleep(min(delay, left))
                delay = min(2 * delay, _MAX_RETRY_DELAY)

    async def with_host(self, step: Callable[[Host], Awaitable[T]]) -> T:
        """Run ``step`` with this job's host, closing its connections afterwards."""
        host = make_host(self.cfg)
        try:
            return await step(host)
        finally:
            await host.close()
