"""The start step registers its job for the Airflow UI page (``plugins``): an XCom with public data only."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..hooks.supervisor import public_endpoint
from ..status import REGISTRATION_KEY, JobRegistration, program_specs

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator, Context

    from ..config import SupervisorAirflowConfiguration

__all__ = ("register_job",)

_START_SUFFIX = "-start-supervisor"


def register_job(task: BaseOperator, cfg: SupervisorAirflowConfiguration, context: Context) -> None:
    """Push the job's ``JobRegistration`` (XCom key ``REGISTRATION_KEY``) for the supervisor page.

    Nothing is pushed for an endpoint whose password is written in the DAG: it could not be stored
    without the secret (the monitoring step refuses such a configuration too).
    """
    try:
        endpoint = public_endpoint(cfg.xmlrpc_endpoint())
    except ValueError as exc:
        task.log.warning("job not registered for the supervisor page: %s", exc)
        return
    registration = JobRegistration(
        prefix=task.task_id.removesuffix(_START_SUFFIX), endpoint=endpoint, programs=program_specs(cfg)
    )
    context["ti"].xcom_push(key=REGISTRATION_KEY, value=registration.model_dump(mode="json"))
