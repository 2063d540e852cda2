"""The faults table: each scenario's expected behaviour, and what a test run observed.

Tests under ``tests/faults`` fill one ``FaultRow`` per scenario (fixture ``fault_row``); with the environment
variable ``FAULTS_REPORT=path.json`` the session writes the rows there. ``benchmarks/faults.py`` runs the
tier and renders the rows as the README's table (``render``). No pytest import here.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

__all__ = ("SCENARIOS", "FaultRow", "load", "render", "save")

#: scenario id -> (fault, expected behaviour). The issue's numbering; a letter splits one fault's cases.
SCENARIOS: dict[str, tuple[str, str]] = {
    "1": (
        "Network partition shorter than `unreachable_timeout` during the watch (remote host)",
        "The job goes on: no failed task, no restart",
    ),
    "2a": (
        "Partition longer than `unreachable_timeout`; the link returns while the teardown retries",
        "check-programs fails naming what is unreachable and since when; the programs keep running on the far "
        "side; the teardown retries, reaches the host once the link is back, stops and cleans the job",
    ),
    "2b": (
        "Partition outlasting the teardown too; the job's next run",
        "The teardown fails naming the host; the next run adopts the running supervisord and programs "
        "(nothing started twice), finishes and cleans up",
    ),
    "3a": (
        "sshd restarted (every SSH connection dropped) during the watch",
        "The watch reconnects; the job goes on",
    ),
    "3b": (
        "sshd restarted during start-programs",
        "start-programs reconnects and finds the program started: one start, no failed try",
    ),
    "4": (
        "supervisord SIGKILLed during the watch",
        "check-programs fails naming the dead supervisord; the teardown kills the process groups of the "
        "programs it left behind",
    ),
    "5a": (
        "Task process SIGKILLed during start-programs",
        "The retried task finds supervisord and the program started: one supervisord, one start",
    ),
    "5b": (
        "Task process SIGKILLed during restart-programs",
        "The retried task does not restart the already restarted program again",
    ),
    "6": (
        "Triggerer SIGKILLed and restarted during the watch",
        "The trigger resumes from its kwargs with the same deadline: `runtime` ends the job on time",
    ),
    "7": (
        "Two triggerers; the one running the trigger is SIGKILLed",
        "The other adopts the trigger within `triggerer_health_check_threshold`; the job completes",
    ),
    "8": (
        "Scheduler SIGKILLed and restarted while the watch is deferred",
        "The run completes",
    ),
    "9a": (
        "User marks the DAG run failed while check-programs is deferred",
        "The teardown tasks still run: they stop the programs and supervisord",
    ),
    "9b": (
        "User clears check-programs while it is deferred",
        "A clean re-watch: same supervisord, same program process, the job completes",
    ),
    "10": (
        "Triggerer on another host than a local-shape job",
        "The watch ends at once naming both hosts and pointing to the remote shape",
    ),
}


@dataclass
class FaultRow:
    """What one scenario's test observed."""

    scenario: str
    observed: str = ""
    detect: str = ""  #: time from the fault to its detection (or "-" where nothing is to detect)
    data_lost: str = ""
    test: str = ""  #: pytest node id
    outcome: str = "not run"  #: passed / failed / skipped
    notes: list[str] = field(default_factory=list)

    @property
    def fault(self) -> str:
        return SCENARIOS[self.scenario][0]

    @property
    def expected(self) -> str:
        return SCENARIOS[self.scenario][1]

    def note(self, text: str) -> None:
        """Add a sentence to ``observed`` (kept in order)."""
        self.notes.append(text)
        self.observed = "; ".join(self.notes)


def save(rows: Iterable[FaultRow], path: Path) -> None:
    path.write_text(json.dumps([asdict(row) for row in rows], indent=1) + "\n")


def load(path: Path) -> list[FaultRow]:
    return [FaultRow(**data) for data in json.loads(path.read_text())]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ") or "-"


def render(rows: Iterable[FaultRow]) -> str:
    """The Markdown table, in scenario order, with a row for each scenario (run or not)."""
    by_id = {row.scenario: row for row in rows}
    lines = [
        "| # | fault | expected | observed | time to detect | data lost |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for scenario in SCENARIOS:
        row = by_id.get(scenario, FaultRow(scenario))
        observed = row.observed if row.outcome == "passed" else f"**{row.outcome.upper()}** {row.observed}".strip()
        cells = [scenario, row.fault, row.expected, observed, row.detect, row.data_lost]
        lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return "\n".join(lines)
