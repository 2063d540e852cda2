"""Decide what a snapshot of program states means for the job. Pure functions, no I/O, no Airflow."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..client.models import ProcessState
from ..decisions import Outcome, ProgramSnapshot

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from ..client import ProcessInfo

__all__ = ("Outcome", "Verdict", "judge", "program_summary")


class Verdict:
    """The judgement of one snapshot: an outcome, or None to keep watching, plus who failed."""

    __slots__ = ("failed", "outcome")

    def __init__(self, outcome: Outcome | None, failed: list[str]) -> None:
        self.outcome = outcome
        self.failed = failed


def _is_failure(info: ProcessInfo, exitcodes: Iterable[int]) -> bool:
    if info.state.is_terminal_failure:  # FATAL or UNKNOWN
        return True
    if info.state is ProcessState.EXITED:
        return info.exitstatus not in set(exitcodes)
    # STOPPED means someone stopped it outside Airflow (Airflow starts programs before watching)
    return info.state is ProcessState.STOPPED


def judge(infos: Iterable[ProcessInfo], programs: Iterable[str], exitcodes: Mapping[str, list[int]]) -> Verdict:
    """Judge one ``getAllProcessInfo`` snapshot for the watched ``programs`` (group names).

    A program missing from the snapshot counts as failed (its config was removed or changed).
    """
    watched = set(programs)
    seen: set[str] = set()
    failed: list[str] = []
    all_done = True
    for info in infos:
        if info.group not in watched:
            continue
        seen.add(info.group)
        if _is_failure(info, exitcodes.get(info.group, [0])):
            failed.append(info.display_name)
        elif info.state is not ProcessState.EXITED:
            all_done = False  # STARTING, RUNNING, BACKOFF (supervisord retries) or STOPPING
    failed.extend(sorted(watched - seen))
    if failed:
        return Verdict(Outcome.FAILED, sorted(failed))
    return Verdict(Outcome.DONE if all_done else None, [])


def program_summary(infos: Iterable[ProcessInfo], programs: Iterable[str]) -> dict[str, ProgramSnapshot]:
    """Per-process state for the event payload: plain, deterministic data (no timestamps)."""
    watched = set(programs)
    return {
        info.display_name: ProgramSnapshot(
            state=info.state.name, exitstatus=info.exitstatus, pid=info.pid, spawnerr=info.spawnerr or None
        )
        for info in sorted(infos, key=lambda info: info.display_name)
        if info.group in watched
    }
