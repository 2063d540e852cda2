"""The base of the step operators: a job's configuration on an Airflow ``BaseOperator``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from ..hooks.job import SupervisorStepMixin, run_sync

if TYPE_CHECKING:
    from ..config import SupervisorAirflowConfiguration

__all__ = ("SupervisorStepMixin", "SupervisorStepOperator", "run_sync")


class SupervisorStepOperator(SupervisorStepMixin, BaseOperator):
    """Base of the step operators: holds the job's configuration.

    :param cfg: the job's configuration (local or SSH).
    """

    ui_color = "#d6eaf8"

    def __init__(self, *, cfg: SupervisorAirflowConfiguration, **kwargs: Any) -> None:
        super().__init__(**self.with_pool(cfg, kwargs))
        self.cfg = cfg
