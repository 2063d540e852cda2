"""What the steps decide (``decisions``): pure functions, tested without Airflow or I/O."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from airflow_supervisor_async import SupervisorAirflowConfiguration
from airflow_supervisor_async.decisions import (
    CONF_KEY,
    JobState,
    Outcome,
    Route,
    RunDates,
    branches,
    choose_route,
    compute_deadline,
    continuation,
    final_outcome,
    job_state,
    teardown_acts,
)

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
INTERVAL_END = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
DATES = RunDates(
    start_date=START,
    logical_date=INTERVAL_END - timedelta(days=1),
    data_interval_end=INTERVAL_END,
    run_after=INTERVAL_END,
)


def cfg(**options: object) -> SupervisorAirflowConfiguration:
    return SupervisorAirflowConfiguration(program={"a": {"command": "x"}}, working_dir="/tmp/asa-dl", **options)


# -- deadlines: absolute times computed once, in UTC --------------------------------------------------------
def test_no_limits_no_deadline() -> None:
    assert compute_deadline(cfg(), DATES) is None


@pytest.mark.parametrize(
    ("reference", "expected"),
    [("data_interval_end", INTERVAL_END), ("start_date", START), ("logical_date", INTERVAL_END - timedelta(days=1))],
)
def test_runtime_counts_from_the_reference_date(reference: str, expected: datetime) -> None:
    deadline = compute_deadline(cfg(runtime=timedelta(hours=2), reference_date=reference), DATES)
    assert deadline == (expected + timedelta(hours=2)).timestamp()


def test_endtime_later_today_or_tomorrow() -> None:
    same_day = compute_deadline(cfg(endtime=time(17, 0), reference_date="start_date"), DATES)
    assert same_day == datetime(2026, 3, 2, 17, 0, tzinfo=UTC).timestamp()
    next_day = compute_deadline(cfg(endtime=time(8, 30), reference_date="start_date"), DATES)
    assert next_day == datetime(2026, 3, 3, 8, 30, tzinfo=UTC).timestamp()


def test_the_earlier_limit_wins() -> None:
    both = cfg(endtime=time(10, 0), runtime=timedelta(hours=4), reference_date="start_date")
    assert compute_deadline(both, DATES) == datetime(2026, 3, 2, 10, 0, tzinfo=UTC).timestamp()


def test_a_missing_reference_date_falls_back_to_run_after_then_start_then_now() -> None:
    two_hours = cfg(runtime=timedelta(hours=2), reference_date="data_interval_end")
    manual = RunDates(start_date=START, run_after=START + timedelta(minutes=5))  # a manual run: no interval
    assert compute_deadline(two_hours, manual) == (START + timedelta(hours=2, minutes=5)).timestamp()
    assert compute_deadline(two_hours, RunDates(start_date=START)) == (START + timedelta(hours=2)).timestamp()
    assert compute_deadline(two_hours, RunDates(), now=START) == (START + timedelta(hours=2)).timestamp()


# -- state carried from run to run --------------------------------------------------------------------------
def test_a_first_run_inherits_nothing_and_a_continuation_counts_on() -> None:
    assert job_state(None) == job_state({}) == job_state({"other": 1}) == JobState(retrigger=0, restarts=0)
    conf = continuation(JobState(retrigger=2, restarts=1), restarts=3, previous_run_id="scheduled__1")
    assert conf == {CONF_KEY: {"retrigger": 3, "restarts": 3, "previous_run_id": "scheduled__1"}}
    assert job_state(conf) == JobState(retrigger=3, restarts=3, previous_run_id="scheduled__1")


# -- which event counts, and what follows it ----------------------------------------------------------------
def test_the_first_monitoring_event_counts() -> None:
    restart_event = {"outcome": "done", "restarts": 1}
    assert final_outcome([None, "text", {"no": "outcome"}, restart_event, {"outcome": "failed"}]) is restart_event
    assert final_outcome([None, {}]) is None


def test_only_a_failure_takes_the_failure_route() -> None:
    downstream = {"job.restart-programs", "job.end-monitoring", "job.page-oncall"}
    for outcome in (Outcome.DONE, Outcome.DEADLINE, None):
        assert branches(outcome, downstream, "job.end-monitoring") == ["job.end-monitoring"]
    assert branches(Outcome.FAILED, downstream, "job.end-monitoring") == [
        "job.page-oncall",
        "job.restart-programs",
        "job.end-monitoring",
    ]
    assert branches("failed", {"job.end-monitoring"}, "job.end-monitoring") is None  # nothing to follow: fail


@pytest.mark.parametrize(
    ("outcome", "reason", "retrigger", "maxretrigger", "stop_on_exit", "route"),
    [
        (Outcome.DEADLINE, "window", 0, None, True, Route.CONTINUE),  # the watch window ended, programs run
        (Outcome.DEADLINE, "window", 4, 5, True, Route.CONTINUE),
        (Outcome.DEADLINE, "window", 5, 5, True, Route.STOP),  # maxretrigger used up
        (Outcome.DEADLINE, "window", 5, 5, False, Route.KEEP),
        (Outcome.DEADLINE, "deadline", 0, None, True, Route.STOP),  # runtime/endtime: the job ends
        (Outcome.DONE, None, 0, None, False, Route.KEEP),
        (Outcome.FAILED, None, 0, None, True, Route.STOP),
        (None, None, 0, None, True, Route.STOP),  # no event at all
    ],
)
def test_the_route_after_monitoring(
    outcome: Outcome | None,
    reason: str | None,
    retrigger: int,
    maxretrigger: int | None,
    stop_on_exit: bool,
    route: Route,
) -> None:
    state = JobState(retrigger=retrigger, restarts=0)
    choice = choose_route(outcome, reason, state, maxretrigger=maxretrigger, stop_on_exit=stop_on_exit)
    assert choice.route is route
    # the task log says why, and says so when maxretrigger ended a job whose window ended
    assert ("maxretrigger (5) reached" in choice.why) == (reason == "window" and route is not Route.CONTINUE)
    assert ("left running" in choice.why) == (route is Route.KEEP)


def test_the_stop_steps_act_on_stop_or_after_a_failure_upstream_with_stop_on_exit() -> None:
    assert teardown_acts("stop", stop_on_exit=False)
    assert not teardown_acts("keep", stop_on_exit=True)
    assert not teardown_acts("continue", stop_on_exit=True)
    assert teardown_acts(None, stop_on_exit=True)  # end-monitoring never ran
    assert not teardown_acts(None, stop_on_exit=False)
