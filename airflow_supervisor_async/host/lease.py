"""Which DAG run drives a job's supervisord: a lease in ``working_dir``.

The configure step of a DAG run takes the lease; the teardown steps of a run act only while it holds it,
so two overlapping runs of one job never drive the same supervisord, and one run's teardown never stops
the programs of another. A run takes the lease over only from a run that is over; otherwise it fails with
a message naming the run that holds it.

The lease is a series of files ``.airflow-supervisor-async.lease.<generation>``; the highest generation
holds the current state (a run, or free). Every change creates the next generation exclusively, so of two
runs changing the lease at once exactly one succeeds (a compare-and-swap that needs nothing but exclusive
file creation, locally and over SFTP); older generations are then removed. A removed generation's name can
be created again by a run that read the lease before it was removed; such a write finds a newer generation
beside it and counts as lost.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from .base import HostCommandError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from pathlib import PurePath

    from ..config import SupervisorAirflowConfiguration
    from .base import Host

__all__ = ("LEASE_PREFIX", "LeaseHeldError", "RunId", "acquire_lease", "lease_files", "read_lease", "release_lease")

#: Name prefix of the lease files in ``working_dir``.
LEASE_PREFIX = ".airflow-supervisor-async.lease."
_GENERATION = re.compile(re.escape(LEASE_PREFIX) + r"([0-9]{1,12})")
_ATTEMPTS = 5


@dataclass(frozen=True)
class RunId:
    """A DAG run: the holder of a lease."""

    dag_id: str
    run_id: str

    def __str__(self) -> str:
        return f"run {self.run_id!r} of DAG {self.dag_id!r}"


class LeaseHeldError(HostCommandError):
    """Another DAG run drives this job's supervisord; nothing was changed."""

    def __init__(self, message: str, holder: RunId | None) -> None:
        super().__init__(message)
        self.holder = holder


@dataclass(frozen=True)
class _State:
    generation: int
    holder: RunId | None  # None: free
    since: str


async def lease_files(host: Host, working_dir: PurePath) -> dict[int, str]:
    """``{generation: file name}`` of the lease files in ``working_dir``."""
    if await host.lstat(working_dir) is None:
        return {}
    found = {}
    for name, info in await host.list_dir(working_dir):
        if (match := _GENERATION.fullmatch(name)) and info.kind == "file":
            found[int(match.group(1))] = name
    return found


async def _state(host: Host, working_dir: PurePath) -> _State:
    for _ in range(_ATTEMPTS):
        files = await lease_files(host, working_dir)
        if not files:
            return _State(0, None, "")
        generation = max(files)
        text = await host.read_file(working_dir / files[generation])
        if text is None:
            continue  # removed since the listing: a newer generation was written meanwhile
        try:
            data = json.loads(text)
            holder = None if data.get("free") else RunId(str(data["dag_id"]), str(data["run_id"]))
            return _State(generation, holder, str(data.get("since", "?")))
        except (ValueError, TypeError, KeyError, AttributeError):
            return _State(generation, None, "")  # unreadable: nobody can prove they hold it
    raise HostCommandError(f"the lease in {working_dir} on {host.description} changed {_ATTEMPTS} times while read")


async def _advance(host: Host, working_dir: PurePath, state: _State, holder: RunId | None) -> bool:
    """Write generation ``state.generation + 1`` (exclusively); False if another change came first."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    content = {**asdict(holder), "since": now} if holder is not None else {"free": True, "since": now}
    path = working_dir / f"{LEASE_PREFIX}{state.generation + 1}"
    try:
        await host.write_file(path, json.dumps(content) + "\n", mode=0o600, exclusive=True)
    except FileExistsError:
        return False
    files = await lease_files(host, working_dir)
    if max(files, default=0) > state.generation + 1:
        # An older generation is removed only once a newer one exists, so a run that read the lease long ago
        # can create a removed generation's name again: with a newer generation present, that write lost.
        await host.remove_file(path)
        return False
    for generation, name in files.items():
        if generation <= state.generation:
            await host.remove_file(working_dir / name)
    return True


async def read_lease(host: Host, cfg: SupervisorAirflowConfiguration) -> RunId | None:
    """The run holding the job's lease, or None when it is free."""
    return (await _state(host, cfg.resolved_working_dir)).holder


async def acquire_lease(
    host: Host,
    cfg: SupervisorAirflowConfiguration,
    me: RunId,
    may_take_over: Callable[[RunId], Awaitable[bool]],
) -> RunId | None:
    """Take the job's lease for run ``me``; return the run it was taken over from (None if it was free or ours).

    :param may_take_over: whether the lease may be taken from the run holding it (e.g. that run is over).
    :raises LeaseHeldError: another run holds the lease and may not be taken over from.
    """
    wd = cfg.resolved_working_dir
    for _ in range(_ATTEMPTS):
        state = await _state(host, wd)
        if state.holder == me:
            return None
        if state.holder is not None and not await may_take_over(state.holder):
            raise LeaseHeldError(
                f"job {cfg.resolved_job!r} (working_dir {wd} on {host.description}) is driven by {state.holder}, "
                f"which is still active (since {state.since}); this run leaves it alone. It can run once that run "
                "is over (Supervisor sets max_active_runs=1 on the DAG so that the scheduler waits for it).",
                state.holder,
            )
        if await _advance(host, wd, state, me):
            return state.holder
    holder = await read_lease(host, cfg)
    raise LeaseHeldError(f"job {cfg.resolved_job!r} is being taken by {holder}; this run leaves it alone", holder)


async def release_lease(host: Host, cfg: SupervisorAirflowConfiguration, me: RunId) -> bool:
    """Give the lease up if ``me`` holds it; True if it did."""
    wd = cfg.resolved_working_dir
    state = await _state(host, wd)
    return state.holder == me and await _advance(host, wd, state, None)
