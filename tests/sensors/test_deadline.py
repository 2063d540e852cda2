"""Deadlines from `runtime`, `endtime` and `reference_date`: absolute times computed once, in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from types import SimpleNamespace

import pytest

pytest.importorskip("airflow")

from airflow_supervisor_async import SupervisorAirflowConfiguration
from airflow_supervisor_async.sensors.programs import compute_deadline

pytestmark = [pytest.mark.airflow, pytest.mark.airflow31]

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
INTERVAL_END = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def context() -> dict[str, object]:
    run = SimpleNamespace(start_date=START, run_after=INTERVAL_END)
    return {"dag_run": run, "logical_date": INTERVAL_END - timedelta(days=1), "data_interval_end": INTERVAL_END}


def cfg(**options: object) -> SupervisorAirflowConfiguration:
    return SupervisorAirflowConfiguration(program={"a": {"command": "x"}}, working_dir="/tmp/asa-dl", **options)


def test_no_limits_no_deadline() -> None:
    assert compute_deadline(cfg(), context()) is None


@pytest.mark.parametrize(
    ("reference", "expected"),
    [("data_interval_end", INTERVAL_END), ("start_date", START), ("logical_date", INTERVAL_END - timedelta(days=1))],
)
def test_runtime_counts_from_the_reference_date(reference: str, expected: datetime) -> None:
    deadline = compute_deadline(cfg(runtime=timedelta(hours=2), reference_date=reference), context())
    assert deadline == (expected + timedelta(hours=2)).timestamp()


def test_endtime_later_today_or_tomorrow() -> None:
    same_day = compute_deadline(cfg(endtime=time(17, 0), reference_date="start_date"), context())
    assert same_day == datetime(2026, 3, 2, 17, 0, tzinfo=UTC).timestamp()
    next_day = compute_deadline(cfg(endtime=time(8, 30), reference_date="start_date"), context())
    assert next_day == datetime(2026, 3, 3, 8, 30, tzinfo=UTC).timestamp()


def test_the_earlier_limit_wins() -> None:
    both = cfg(endtime=time(10, 0), runtime=timedelta(hours=4), reference_date="start_date")
    assert compute_deadline(both, context()) == datetime(2026, 3, 2, 10, 0, tzinfo=UTC).timestamp()
