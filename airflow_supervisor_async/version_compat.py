"""Airflow names that moved between the versions we support (3.1 and newer).

Airflow 3.2 moved the task exceptions into the task SDK (``airflow.sdk.exceptions``) and deprecated
their ``airflow.exceptions`` spelling; Airflow 3.1 -- what airflow-supervisor's users run, as it
pins ``apache-airflow<3.2`` -- only has them in ``airflow.exceptions``. Import them from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__all__ = (
    "AirflowException",
    "AirflowFailException",
    "AirflowNotFoundException",
    "AirflowSkipException",
)

if TYPE_CHECKING:
    from airflow.sdk.exceptions import (
        AirflowException,
        AirflowFailException,
        AirflowNotFoundException,
        AirflowSkipException,
    )
else:
    try:
        from airflow.sdk.exceptions import (
            AirflowException,
            AirflowFailException,
            AirflowNotFoundException,
            AirflowSkipException,
        )
    except ImportError:  # Airflow 3.1
        from airflow.exceptions import (
            AirflowException,
            AirflowFailException,
            AirflowNotFoundException,
            AirflowSkipException,
        )
