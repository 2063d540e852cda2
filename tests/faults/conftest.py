"""Fixtures of the faults tier: a remote host in a network namespace, and one table row per scenario.

Run the tier alone with ``pytest -m faults``; ``FAULTS_REPORT=rows.json`` writes what each scenario
observed (``benchmarks/faults.py`` turns it into the README's table).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.fault_table import SCENARIOS, FaultRow, save
from tests.support.faults import skip_or_fail
from tests.support.netns import RemoteHost, unavailable_reason

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterator

_ROWS: dict[str, FaultRow] = {}


@pytest.fixture
def fault_row(request: pytest.FixtureRequest) -> Callable[[str], FaultRow]:
    """``fault_row("3a")``: the table row of scenario 3a, filled by the test; its outcome is the test's."""

    def make(scenario: str) -> FaultRow:
        assert scenario in SCENARIOS, scenario
        row = _ROWS[scenario] = FaultRow(scenario, test=request.node.nodeid, outcome="running")
        request.node.stash.setdefault(_ITEM_ROWS, []).append(row)
        return row

    return make


_ITEM_ROWS = pytest.StashKey[list[FaultRow]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, object, object]:
    report = yield
    for row in item.stash.get(_ITEM_ROWS, []):
        if report.failed:  # type: ignore[attr-defined]
            row.outcome = "failed"
            if call.excinfo is not None:
                row.note(f"{call.excinfo.typename}: {str(call.excinfo.value).splitlines()[0][:300]}")
        elif report.skipped:  # type: ignore[attr-defined]
            row.outcome = "skipped"
        elif call.when == "call" and row.outcome == "running":
            row.outcome = "passed"
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = os.environ.get("FAULTS_REPORT")
    if target and _ROWS:
        save(_ROWS.values(), Path(target))


@pytest.fixture
def remote_host() -> Iterator[RemoteHost]:
    """A second host: a network namespace with its own address and sshd, removed (with all it ran) at teardown."""
    reason = unavailable_reason()
    if reason:
        skip_or_fail(f"no remote host in a network namespace: {reason}")
    host = RemoteHost.create()
    try:
        yield host
    finally:
        host.close()
