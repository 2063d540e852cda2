"""The job's lease: one DAG run at a time drives a supervisord; taking over only from a run that is over."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from airflow_supervisor_async.config import SupervisorAirflowConfiguration
from airflow_supervisor_async.host import LeaseHeldError, LocalHost, RunId, lifecycle
from airflow_supervisor_async.host.lease import acquire_lease, lease_files, read_lease, release_lease

A, B, C = RunId("dag", "manual__1"), RunId("dag", "scheduled__2"), RunId("dag", "manual__3")


def cfg_for(working_dir: Path) -> SupervisorAirflowConfiguration:
    return SupervisorAirflowConfiguration(working_dir=working_dir, job="dag", program={"svc": {"command": "true"}})


async def never(holder: RunId) -> bool:
    return False


async def always(holder: RunId) -> bool:
    return True


async def test_a_second_run_fails_clearly_and_changes_nothing(tmp_path: Path) -> None:
    host, cfg = LocalHost(), cfg_for(tmp_path / "wd")
    await lifecycle.write_config(host, cfg, run=A, may_take_over=never)
    written = (tmp_path / "wd" / "supervisord.conf").stat().st_mtime_ns
    with pytest.raises(LeaseHeldError, match="driven by run 'manual__1' of DAG 'dag', which is still active") as info:
        await lifecycle.write_config(host, cfg, run=B, may_take_over=never)
    assert info.value.holder == A
    assert (tmp_path / "wd" / "supervisord.conf").stat().st_mtime_ns == written  # config untouched
    assert await read_lease(host, cfg) == A
    await lifecycle.write_config(host, cfg, run=A, may_take_over=never)  # the holder may configure again


async def test_a_run_that_is_over_is_taken_over_from(tmp_path: Path) -> None:
    host, cfg = LocalHost(), cfg_for(tmp_path / "wd")
    await lifecycle.write_config(host, cfg, run=A, may_take_over=never)
    seen: list[RunId] = []

    async def over(holder: RunId) -> bool:
        seen.append(holder)
        return True

    await lifecycle.write_config(host, cfg, run=B, may_take_over=over)
    assert seen == [A]
    assert await read_lease(host, cfg) == B
    assert await release_lease(host, cfg, A) is False  # not A's to release any more
    assert await release_lease(host, cfg, B) is True
    assert await read_lease(host, cfg) is None
    await lifecycle.remove_config(host, cfg)
    assert not (tmp_path / "wd").exists()


async def test_of_two_runs_taking_over_at_once_exactly_one_wins(tmp_path: Path) -> None:
    cfg = cfg_for(tmp_path / "wd")
    await lifecycle.write_config(LocalHost(), cfg, run=A, may_take_over=never)
    results = await asyncio.gather(
        *(lifecycle.write_config(LocalHost(), cfg, run=run, may_take_over=always) for run in (B, C)),
        return_exceptions=True,
    )
    winner = await read_lease(LocalHost(), cfg)
    assert winner in (B, C)
    loser = C if winner == B else B
    assert results[(B, C).index(winner)] == cfg.resolved_config_path
    # the loser took over from A before the winner, then lost it (the winner may take over): or it was told
    failed = results[(B, C).index(loser)]
    assert isinstance(failed, LeaseHeldError) or failed == cfg.resolved_config_path
    leases = sorted(p.name for p in (tmp_path / "wd").iterdir() if ".lease." in p.name)
    assert len(leases) == 1  # older generations are removed


async def test_runs_racing_for_the_lease_see_a_result_or_a_clear_refusal(tmp_path: Path) -> None:
    """Generations are removed while others list and read them: never a raw error, always one holder, and a
    removed generation created again by a run that read the lease before (it lost) does not stay behind."""
    runs = [RunId("dag", f"manual__{i}") for i in range(6)]
    for round_ in range(15):
        cfg = cfg_for(tmp_path / f"wd{round_}")
        await lifecycle.write_config(LocalHost(), cfg, run=A, may_take_over=never)
        results = await asyncio.gather(
            *(lifecycle.write_config(LocalHost(), cfg, run=run, may_take_over=always) for run in runs),
            return_exceptions=True,
        )
        raw = [r for r in results if isinstance(r, BaseException) and not isinstance(r, LeaseHeldError)]
        assert raw == [], raw
        assert await read_lease(LocalHost(), cfg) in runs
        leases = [p.name for p in cfg.resolved_working_dir.iterdir() if ".lease." in p.name]
        assert len(leases) == 1, leases


async def test_a_run_that_read_the_lease_before_two_takeovers_does_not_win_with_a_reused_name(tmp_path: Path) -> None:
    """Run D reads the lease (generation 1, A), and while it decides, B and C take over (generations 2, 3;
    generation 2's file is removed again). D's write of "generation 2" then succeeds as a file -- but C
    holds the lease: D must see that it lost, and take over from C only as a new generation."""
    host, cfg = LocalHost(), cfg_for(tmp_path / "wd")
    d = RunId("dag", "manual__4")
    await lifecycle.write_config(host, cfg, run=A, may_take_over=never)
    asked: list[RunId] = []

    async def meanwhile_two_takeovers(holder: RunId) -> bool:
        asked.append(holder)
        if len(asked) == 1:
            await acquire_lease(host, cfg, B, always)
            await acquire_lease(host, cfg, C, always)
        return True

    taken_from = await acquire_lease(host, cfg, d, meanwhile_two_takeovers)
    assert asked == [A, C]  # D asked again about the run that really held the lease
    assert taken_from == C
    assert await read_lease(host, cfg) == d
    assert list(await lease_files(host, cfg.resolved_working_dir)) == [4]
