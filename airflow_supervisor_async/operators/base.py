"""What every step operator shares: the configuration, the host, the client, and running async code."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from airflow.sdk import BaseOperator

from ..hooks.ssh import run_in_new_loop as run_sync
from ..hooks.supervisor import SupervisorHook
from ..host import make_host

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from ..client import SupervisorClient
    from ..config import SupervisorAirflowConfiguration
    from ..host import Host

__all__ = ("SupervisorStepMixin", "SupervisorStepOperator", "run_sync")

T = TypeVar("T")


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
        """The configuration with XML-RPC credentials read from ``airflow.xmlrpc_conn_id`` (if set)."""
        conn_id = self.cfg.airflow.xmlrpc_conn_id
        if conn_id is None:
            return self.cfg
        endpoint = SupervisorHook(self.cfg.xmlrpc_endpoint()).resolve()
        airflow = self.cfg.airflow.model_copy(update={"username": endpoint.username, "password": endpoint.password})
        return self.cfg.model_copy(update={"airflow": airflow})

    def client(self) -> SupervisorClient:
        """A new client for this job's supervisord (use as ``async with``)."""
        from ..client import SupervisorClient

        return SupervisorClient.from_endpoint(SupervisorHook(self.cfg.xmlrpc_endpoint()).resolve())

    async def with_host(self, step: Callable[[Host], Awaitable[T]]) -> T:
        """Run ``step`` with this job's host, closing its connections afterwards."""
        host = make_host(self.cfg)
        try:
            return await step(host)
        finally:
            await host.close()


class SupervisorStepOperator(SupervisorStepMixin, BaseOperator):
    """Base of the step operators: holds the job's configuration.

    :param cfg: the job's configuration (local or SSH).
    """

    ui_color = "#d6eaf8"

    def __init__(self, *, cfg: SupervisorAirflowConfiguration, **kwargs: Any) -> None:
        super().__init__(**self.with_pool(cfg, kwargs))
        self.cfg = cfg
