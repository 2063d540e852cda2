"""What the steps decide, in one place: pure functions of plain data, no I/O, no Airflow.

The operators, the sensor and the trigger gather the facts (a DAG run's ``conf`` and dates, the monitoring
tasks' XComs, the job's configuration) and act on the answer; the answer itself is computed here, so it
is read and tested in one place:

- ``job_state``: restart and continuation counts a DAG run inherits from the run it continues;
- ``compute_deadline``: when the job must end (``runtime``, ``endtime``, ``reference_date``);
- ``final_outcome``: which monitoring event counts;
- ``branches``, ``choose_route`` and ``teardown_acts``: what follows the monitoring (steps 5, 7, 8-10);
- ``continuation``: what a new DAG run that continues the job carries.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NamedTuple, TypedDict

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from .config import SupervisorAirflowConfiguration

__all__ = (
    "CONF_KEY",
    "ROUTE_KEY",
    "STEPS",
    "JobState",
    "MonitoringEvent",
    "Outcome",
    "ProgramSnapshot",
    "Route",
    "RouteChoice",
    "RunDates",
    "branches",
    "choose_route",
    "compute_deadline",
    "continuation",
    "final_outcome",
    "job_state",
    "teardown_acts",
)

#: The ten steps of a job, in order, as (name used in task ids, ``Supervisor`` attribute). Task ids are
#: ``<prefix>-<name>``; users' DAGs and airflow-supervisor's README depend on these names.
STEPS: tuple[tuple[str, str], ...] = (
    ("configure-supervisor", "configure_supervisor"),
    ("start-supervisor", "start_supervisor"),
    ("start-programs", "start_programs"),
    ("check-programs", "check_programs"),
    ("evaluate-programs", "evaluate_programs"),
    ("restart-programs", "restart_programs"),
    ("end-monitoring", "end_monitoring"),
    ("stop-programs", "stop_programs"),
    ("stop-supervisor", "stop_supervisor"),
    ("unconfigure-supervisor", "unconfigure_supervisor"),
)

#: key of a DAG run's ``conf`` that carries the job's state into a continuing run
CONF_KEY = "airflow_supervisor_async"
#: XCom key under which end-monitoring pushes its ``Route``
ROUTE_KEY = "route"


class Outcome(StrEnum):
    """How one round of monitoring ended."""

    DONE = "done"  # every program exited with an expected exit code
    FAILED = "failed"  # a program exited unexpectedly, went FATAL, or was stopped outside Airflow
    DEADLINE = "deadline"  # runtime / endtime / the run's watch window was reached while programs ran
    UNREACHABLE = "unreachable"  # supervisord could not be reached for longer than the retry budget


class Route(StrEnum):
    """What the stop steps do once monitoring ended (chosen by end-monitoring, step 7)."""

    STOP = "stop"  # stop the programs and supervisord, remove what the job created
    KEEP = "keep"  # leave the job running
    CONTINUE = "continue"  # the run's watch window ended while programs run: a new DAG run takes over


class ProgramSnapshot(TypedDict):
    """One process in a monitoring event."""

    state: str  # supervisord's state name: RUNNING, EXITED, FATAL, ...
    exitstatus: int
    pid: int
    spawnerr: str | None


class MonitoringEvent(TypedDict):
    """What the monitoring trigger fires and the sensor returns (its XCom ``return_value``). Plain JSON."""

    outcome: str  # an ``Outcome`` value
    reason: str | None  # DEADLINE: "deadline" or "window"; UNREACHABLE: "other_host" when on the wrong host
    endpoint: str  # where supervisord was asked, without secrets
    programs: dict[str, ProgramSnapshot]  # by display name
    failed: list[str]  # display names of the failed programs (FAILED)
    logs: dict[str, dict[str, str]]  # {name: {"stdout": tail, "stderr": tail}} of the failed programs
    error: str | None  # UNREACHABLE: the last error
    unreachable_since: str | None  # UNREACHABLE: ISO time of the first failed poll
    restarts: int  # restarts of failed programs so far (step 6)
    deadline: float | None  # epoch seconds: the job's end (runtime/endtime)
    window_end: float | None  # epoch seconds: the end of this DAG run's watch (check_timeout)


class JobState(NamedTuple):
    """What a DAG run inherits from the run it continues (zeros and None for a run that starts the job)."""

    retrigger: int  # continuations so far (bounded by ``maxretrigger``)
    restarts: int  # restarts of failed programs so far (bounded by ``max_restarts``)
    previous_run_id: str | None = None  # the run it continues: the job's lease is taken over from it


class RunDates(NamedTuple):
    """A DAG run's dates that ``reference_date`` may name (None where the run has none)."""

    start_date: datetime | None = None
    logical_date: datetime | None = None
    data_interval_end: datetime | None = None
    run_after: datetime | None = None


def job_state(conf: Mapping[str, Any] | None) -> JobState:
    """The ``JobState`` carried in a DAG run's ``conf`` (under ``CONF_KEY``) by a continuation."""
    carried = (conf or {}).get(CONF_KEY) or {}
    previous = carried.get("previous_run_id")
    return JobState(
        retrigger=int(carried.get("retrigger", 0)),
        restarts=int(carried.get("restarts", 0)),
        previous_run_id=None if previous is None else str(previous),
    )


def continuation(state: JobState, restarts: int, previous_run_id: str) -> dict[str, Any]:
    """The ``conf`` of the DAG run that continues the job: one more continuation, the restarts so far, and
    the run it takes the job's lease over from."""
    return {CONF_KEY: {"retrigger": state.retrigger + 1, "restarts": restarts, "previous_run_id": previous_run_id}}


def compute_deadline(cfg: SupervisorAirflowConfiguration, dates: RunDates, now: datetime | None = None) -> float | None:
    """Epoch seconds at which the job must end: ``runtime`` after the reference date, or the next ``endtime``
    (UTC) after it, whichever comes first; None without either.

    The reference date is the run's date named by ``cfg.reference_date``, else its ``run_after``, else its
    ``start_date``, else ``now`` (default: the current time).
    """
    chosen = getattr(dates, cfg.reference_date, None)
    reference = chosen or dates.run_after or dates.start_date or now or datetime.now(UTC)
    limits: list[datetime] = []
    if cfg.runtime is not None:
        limits.append(reference + cfg.runtime)
    if cfg.endtime is not None:
        end = datetime.combine(reference.astimezone(UTC).date(), cfg.endtime, tzinfo=UTC)
        limits.append(end if end > reference else end + timedelta(days=1))
    return min(limits).timestamp() if limits else None


def final_outcome(payloads: Iterable[object]) -> MonitoringEvent | None:
    """The first monitoring event among ``payloads`` (give the latest monitoring task's first), or None."""
    for payload in payloads:
        if isinstance(payload, dict) and "outcome" in payload:
            return payload  # type: ignore[return-value]
    return None


def branches(outcome: str | None, downstream: Iterable[str], end_task_id: str) -> list[str] | None:
    """Tasks step 5 follows: on ``failed`` every direct downstream task (restart, or the user's failure
    tasks) and then ``end_task_id``; otherwise ``end_task_id`` alone. None: the job failed and nothing is on
    the failure route (the step fails)."""
    if outcome != Outcome.FAILED:
        return [end_task_id]
    failure_route = sorted(set(downstream) - {end_task_id})
    if not failure_route:
        return None
    return [*failure_route, end_task_id]  # end-monitoring waits for the failure route, then ends the watch


class RouteChoice(NamedTuple):
    """End-monitoring's choice and why, in words for the task log."""

    route: Route
    why: str


def choose_route(
    outcome: str | None, reason: str | None, state: JobState, *, maxretrigger: int | None, stop_on_exit: bool
) -> RouteChoice:
    """Step 7: ``CONTINUE`` when the run's watch window ended while programs run and ``maxretrigger`` allows
    one more run; otherwise ``STOP`` with ``stop_on_exit``, else ``KEEP``."""
    window_ended = outcome == Outcome.DEADLINE and reason == "window"
    if window_ended and (maxretrigger is None or state.retrigger < maxretrigger):
        limit = "no limit" if maxretrigger is None else f"maxretrigger {maxretrigger}"
        return RouteChoice(Route.CONTINUE, f"the watch window ended: run {state.retrigger + 1} continues ({limit})")
    ends = f"maxretrigger ({maxretrigger}) reached: the job ends here; " if window_ended else ""
    if stop_on_exit:
        return RouteChoice(Route.STOP, ends + "stop_on_exit: stop the programs and clean up")
    return RouteChoice(Route.KEEP, ends + "stop_on_exit is off: the programs are left running")


def teardown_acts(route: str | None, *, stop_on_exit: bool) -> bool:
    """Whether the stop steps act: on ``STOP``; without a route (end-monitoring did not run because
    something upstream failed) when ``stop_on_exit`` is set, so that a failed job is cleaned up."""
    return stop_on_exit if route is None else route == Route.STOP
