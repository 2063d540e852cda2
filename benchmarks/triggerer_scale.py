"""How many supervisor jobs one triggerer can watch: N monitoring triggers in one event loop.

Runs N ``SupervisorProgramsTrigger``s as asyncio tasks in this process's single event loop -- what
the Airflow triggerer does -- against 10 real supervisord instances (3 running programs each), at a
5 s check interval, for N = 100, 1000, 5000, in two modes:

- ``local``: XML-RPC over each supervisord's unix socket;
- ``ssh``: through a real OpenSSH sshd on loopback, as 10 distinct SSH hosts (127.0.0.1 .. 127.0.0.10,
  all loopback addresses of one sshd), so the per-loop pool should hold exactly 10 SSH connections.

Printed per case: event-loop CPU per poll and as % of one core, RSS per trigger, poll latency
p50/p99, polls/s achieved vs due, event-loop lag p99, SSH connections. The baseline in the same run
is what the older design pays per watched job: one worker slot and one Airflow task process running
a poke-mode sensor (measured live with a real Airflow unless ``--no-baseline``).

    .venv/bin/python benchmarks/triggerer_scale.py [--sizes 100,1000,5000] [--interval 5] [--window 15]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from airflow_supervisor_async.client import get_pool, shared_client_count
from airflow_supervisor_async.config import XmlRpcEndpoint
from airflow_supervisor_async.hooks.supervisor import public_endpoint
from airflow_supervisor_async.triggers.programs import SupervisorProgramsTrigger
from tests.fixtures.sshd import RunningSshd, start_sshd
from tests.fixtures.supervisord import RunningSupervisord, sleepers, start_supervisord

if TYPE_CHECKING:
    from airflow_supervisor_async.client import SupervisorClient

SUPERVISORDS = 10
PROGRAMS = 3
LATENCIES: list[float] = []


class TimedTrigger(SupervisorProgramsTrigger):
    """The real trigger, with each poll's wall time recorded."""

    async def poll(self, client: SupervisorClient, where: str) -> dict[str, Any] | None:
        started = time.perf_counter()
        try:
            return await super().poll(client, where)
        finally:
            LATENCIES.append(time.perf_counter() - started)


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def multi_host_sshd() -> RunningSshd:
    """One sshd listening on 127.0.0.1 .. 127.0.0.10 (loopback only), known_hosts for each address."""
    sshd = start_sshd()
    sshd.kill()
    config = sshd.config_path.read_text()
    extra = "".join(f"ListenAddress 127.0.0.{i}\n" for i in range(2, SUPERVISORDS + 1))
    sshd.config_path.write_text(config.replace("ListenAddress 127.0.0.1\n", "ListenAddress 127.0.0.1\n" + extra))
    sshd.known_hosts.write_text(
        "".join(f"[127.0.0.{i}]:{sshd.port} {sshd.host_key}\n" for i in range(1, SUPERVISORDS + 1))
    )
    sshd.start()
    return sshd


def endpoints(mode: str, daemons: list[RunningSupervisord], sshd: RunningSshd | None) -> list[dict[str, Any]]:
    result = []
    for i, daemon in enumerate(daemons, start=1):
        ssh = None
        if mode == "ssh":
            assert sshd is not None
            ssh = sshd.ssh_config(host=f"127.0.0.{i}", keepalive_interval=15.0)
        result.append(public_endpoint(XmlRpcEndpoint(unix_socket=daemon.unix_socket, ssh=ssh)))
    return result


async def lag_probe(samples: list[float], stop: asyncio.Event) -> None:
    """How late a 100 ms timer fires: the loop's responsiveness."""
    while not stop.is_set():
        due = time.perf_counter() + 0.1
        await asyncio.sleep(0.1)
        samples.append(max(0.0, time.perf_counter() - due))


async def consume(trigger: SupervisorProgramsTrigger) -> None:
    async for _event in trigger.run():
        return


async def run_case(mode: str, n: int, eps: list[dict[str, Any]], interval: float, window: float,
                   sshd: RunningSshd | None) -> dict[str, Any]:  # fmt: skip
    LATENCIES.clear()
    rss_before = rss_kib()
    names = list(sleepers(PROGRAMS))
    deadline = time.time() + 3600
    triggers = [
        TimedTrigger(endpoint=eps[i % len(eps)], programs=names, check_interval=interval, deadline=deadline)
        for i in range(n)
    ]
    tasks = [asyncio.create_task(consume(t)) for t in triggers]
    lags: list[float] = []
    stop = asyncio.Event()
    probe = asyncio.create_task(lag_probe(lags, stop))
    await asyncio.sleep(interval * 1.5)  # warm up: every trigger has polled once
    LATENCIES.clear()
    lags.clear()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.sleep(window)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    polls = len(LATENCIES)
    latencies = list(LATENCIES)
    rss_after = rss_kib()
    ssh_pool = get_pool().live_connections() if mode == "ssh" else 0
    ssh_server = sshd.established_connections() if sshd is not None and mode == "ssh" else 0
    clients = shared_client_count()
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, probe, return_exceptions=True)
    failed = sum(1 for t in tasks if not t.cancelled() and t.exception() is not None)
    return {
        "mode": mode,
        "triggers": n,
        "cpu_pct_one_core": round(100 * cpu / wall, 1),
        "cpu_ms_per_poll": round(1000 * cpu / polls, 3) if polls else None,
        "rss_kib_per_trigger": round((rss_after - rss_before) / n, 1),
        "poll_p50_ms": round(1000 * pct(latencies, 0.5), 2),
        "poll_p99_ms": round(1000 * pct(latencies, 0.99), 2),
        "polls_per_s": round(polls / wall, 1),
        "polls_due_per_s": round(n / interval, 1),
        "loop_lag_p99_ms": round(1000 * pct(lags, 0.99), 1),
        "ssh_connections_pool": ssh_pool,
        "ssh_connections_sshd": ssh_server,
        "shared_clients": clients,
        "failed_triggers": failed,
    }


def table(rows: list[dict[str, Any]]) -> str:
    head = ("| mode | triggers | CPU % of a core | CPU ms/poll | RSS KiB/trigger | poll p50 ms | poll p99 ms "
            "| polls/s (due) | loop lag p99 ms | SSH conns (pool/sshd) |")  # fmt: skip
    lines = [head, "|" + " --- |" * 10]
    for r in rows:
        lines.append(
            f"| {r['mode']} | {r['triggers']} | {r['cpu_pct_one_core']} | {r['cpu_ms_per_poll']} "
            f"| {r['rss_kib_per_trigger']} | {r['poll_p50_ms']} | {r['poll_p99_ms']} "
            f"| {r['polls_per_s']} ({r['polls_due_per_s']}) | {r['loop_lag_p99_ms']} "
            f"| {r['ssh_connections_pool']}/{r['ssh_connections_sshd']} |"
        )
    return "\n".join(lines)


def targets(rows: list[dict[str, Any]]) -> list[str]:
    row = next((r for r in rows if r["mode"] == "ssh" and r["triggers"] == 1000), None)
    if row is None:
        return ["(no ssh/1000 case run: targets not checked)"]
    checks = [
        ("CPU under 25% of one core", row["cpu_pct_one_core"] < 25),
        ("RSS under 50 KiB per trigger", row["rss_kib_per_trigger"] < 50),
        ("poll p99 under 100 ms", row["poll_p99_ms"] < 100),
        ("exactly 10 SSH connections", row["ssh_connections_pool"] == 10 and row["ssh_connections_sshd"] == 10),
    ]
    return [f"- {'PASS' if ok else 'FAIL'}: 1000 triggers over SSH, {name}" for name, ok in checks]


async def main_async(sizes: list[int], modes: list[str], interval: float, window: float) -> list[dict[str, Any]]:
    daemons: list[RunningSupervisord] = []
    sshd: RunningSshd | None = None
    rows = []
    try:
        for _ in range(SUPERVISORDS):
            daemons.append(start_supervisord(sleepers(PROGRAMS), tcp=False))
        if "ssh" in modes:
            sshd = multi_host_sshd()
        for mode in modes:
            eps = endpoints(mode, daemons, sshd)
            for n in sizes:
                row = await run_case(mode, n, eps, interval, window, sshd)
                print(json.dumps(row), file=sys.stderr, flush=True)
                rows.append(row)
            await get_pool().close()
    finally:
        for daemon in daemons:
            daemon.stop()
        if sshd is not None:
            sshd.stop()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,1000,5000", help="trigger counts (default 100,1000,5000)")
    parser.add_argument("--modes", default="local,ssh", help="local, ssh or both (default both)")
    parser.add_argument("--interval", type=float, default=5.0, help="check interval in seconds (default 5)")
    parser.add_argument("--window", type=float, default=15.0, help="measurement window in seconds (default 15)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the live Airflow poke-sensor baseline")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    started = time.monotonic()
    rows = asyncio.run(main_async(sizes, args.modes.split(","), args.interval, args.window))
    print(f"## {len(rows)} cases, {SUPERVISORDS} supervisords x {PROGRAMS} programs, interval {args.interval:g} s\n")
    print(table(rows))
    print()
    print("\n".join(targets(rows)))
    if not args.no_baseline:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from _airflow_sensor_baseline import measure

        report = measure(seconds=40, interval=5)
        poke = next(m for m in report["modes"] if "poke" in m["mode"])
        per_job_kib = poke["rss_mib_median"] * 1024
        print("\n## Baseline (same run): the older design, one poking task per watched job\n")
        print("| design | worker slots per job | processes per job | RSS KiB per job |")
        print("| --- | --- | --- | --- |")
        print(f"| poke-mode sensor (airflow-supervisor) | 1 | {poke['task_processes']} | {per_job_kib:.0f} |")
        # RSS deltas in one process are noisy (freed memory is reused by later cases): take the worst case
        worst = max(row["rss_kib_per_trigger"] for row in rows)
        print(
            f"| deferred trigger (this project, worst case measured) | 0 | 0 | {worst} "
            f"(x{per_job_kib / max(worst, 0.1):,.0f} less) |"
        )
    print(f"\nwall time {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
