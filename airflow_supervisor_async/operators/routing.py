"""Steps 5 and 7: read the monitoring outcome, choose the route, and continue always-on jobs in a new DAG run.

State that must outlive a DAG run (restart and continuation counts) travels in the new run's
``conf`` under ``CONF_KEY``; state within a run travels in XComs of the monitoring tasks.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow.providers.standard.operators.branch import BaseBranchOperator

from ..decisions import (
    ROUTE_KEY,
    Route,
    branches,
    choose_route,
    continuation,
    final_outcome,
    teardown_acts,
)
from ..version_compat import AirflowFailException, AirflowSkipException
from .base import SupervisorStepMixin, SupervisorStepOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

    from ..config import SupervisorAirflowConfiguration
    from ..decisions import MonitoringEvent

__all__ = (
    "EndMonitoringOperator",
    "EvaluateProgramsOperator",
    "SupervisorTeardownOperator",
)


def _monitoring_event(context: Context, task_ids: list[str]) -> MonitoringEvent | None:
    ti = context["ti"]
    return final_outcome(ti.xcom_pull(task_ids=task_id) for task_id in task_ids)


class SupervisorTeardownOperator(SupervisorStepOperator):
    """Base of the stop steps (8-10): they act on the route chosen by end-monitoring.

    :param route_task_id: task id of the end-monitoring step. When it did not run (a failure
        upstream), the stop steps act if ``stop_on_exit`` is set, so a failed job is cleaned up.
    """

    def __init__(self, *, route_task_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.route_task_id = route_task_id

    def route(self, context: Context) -> str | None:
        """The route end-monitoring chose, or None when it did not run."""
        return context["ti"].xcom_pull(task_ids=self.route_task_id, key=ROUTE_KEY) if self.route_task_id else None

    def skip_unless_tearing_down(self, context: Context, what: str) -> None:
        """Raise ``AirflowSkipException`` when the job keeps running."""
        route = self.route(context)
        if not teardown_acts(route, stop_on_exit=self.cfg.stop_on_exit):
            raise AirflowSkipException(f"the job keeps running (route {route or 'keep'}): {what} left as is")
        self.skip_unless_this_run_drives_the_job(context, what)


class EvaluateProgramsOperator(SupervisorStepMixin, BaseBranchOperator):
    """Step 5: route on the monitoring outcome.

    ``failed`` follows every direct downstream task (the restart step by default, or the user's own
    failure tasks) and ``end_task_id`` after them; anything else goes straight to ``end_task_id``. With nothing on the
    failure route, a failure fails this task (the stop steps still clean up).

    :param check_task_id: task id of the monitoring sensor.
    :param end_task_id: task id of the end-monitoring step.
    """

    ui_color = "#fdebd0"

    def __init__(
        self, *, cfg: SupervisorAirflowConfiguration, check_task_id: str, end_task_id: str, **kwargs: Any
    ) -> None:
        super().__init__(**self.with_pool(cfg, kwargs))
        self.cfg = cfg
        self.check_task_id = check_task_id
        self.end_task_id = end_task_id

    def choose_branch(self, context: Context) -> list[str]:
        payload = _monitoring_event(context, [self.check_task_id])
        outcome = payload["outcome"] if payload else None
        self.log.info("monitoring outcome: %s", outcome)
        follow = branches(outcome, self.downstream_task_ids, self.end_task_id)
        if follow is None:
            failed = ", ".join(payload["failed"]) if payload else "?"
            raise AirflowFailException(f"program(s) failed: {failed}; no restart or failure task is configured")
        return follow


class EndMonitoringOperator(SupervisorStepOperator):
    """Step 7: end the watch and choose what happens to the running job.

    Pushes the route (XCom key ``route``) the stop steps follow: ``stop`` (programs finished, or a
    deadline with ``stop_on_exit``), ``keep`` (leave them running), or ``continue`` (the run's watch
    window ended while programs run: a new DAG run takes over, carrying the restart count).

    :param monitor_task_ids: monitoring tasks whose outcome counts, latest first.
    """

    def __init__(self, *, monitor_task_ids: list[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.monitor_task_ids = monitor_task_ids

    def execute(self, context: Context) -> str:
        payload = _monitoring_event(context, self.monitor_task_ids)
        outcome, reason = (payload["outcome"], payload.get("reason")) if payload else (None, None)
        state = self.inherited(context)
        route, why = choose_route(
            outcome, reason, state, maxretrigger=self.cfg.maxretrigger, stop_on_exit=self.cfg.stop_on_exit
        )
        context["ti"].xcom_push(key=ROUTE_KEY, value=route.value)
        self.log.info("outcome %s (%s) -> %s: %s", outcome, reason or "-", route.value, why)
        if route is Route.CONTINUE:
            restarts = int(payload.get("restarts", state.restarts)) if payload else state.restarts
            # the new run takes the job's lease over from this one
            self._continue_job(context, continuation(state, restarts, context["dag_run"].run_id))
        return route.value

    def _continue_job(self, context: Context, conf: dict[str, Any]) -> None:
        from airflow.providers.common.compat.sdk import DagRunTriggerException

        dag_id = context["dag"].dag_id
        now = datetime.now(UTC)
        self.log.info("continuing the job in a new run of %s with %s", dag_id, conf)
        raise DagRunTriggerException(
            trigger_dag_id=dag_id,
            dag_run_id=f"supervisor_continue__{now.strftime('%Y%m%dT%H%M%S%f')}",
            conf=conf,
            logical_date=now,
            reset_dag_run=False,
            skip_when_already_exists=True,
            wait_for_completion=False,
            allowed_states=["success"],
            failed_states=["failed"],
            poke_interval=60,
            deferrable=False,
        )
