"""Latency and throughput of ``getAllProcessInfo`` (20 programs) per transport, against the stdlib.

Starts its own real supervisord (20 ``sleep`` programs, unix socket + loopback TCP) and a real OpenSSH
sshd on 127.0.0.1 (skipped with a note when sshd is missing), using the test fixtures' plain helpers,
then measures, for a few seconds per row:

- ``xmlrpc.client.ServerProxy`` over TCP (the baseline; concurrency = one proxy per thread);
- ``SupervisorClient`` (a connection per call) over TCP, the unix socket, and SSH to the remote unix
  socket and to the remote loopback port;

sequentially (one call at a time) and with 10 calls in flight. Prints a markdown table.

Run: ``.venv/bin/python benchmarks/client_latency.py [--seconds 2] [--concurrency 10]``
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
import time
import xmlrpc.client
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from airflow_supervisor_async.client import SSHConnectionPool, SupervisorClient
from tests.fixtures.sshd import SshdUnavailableError, start_sshd
from tests.fixtures.supervisord import sleepers, start_supervisord

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.fixtures.sshd import RunningSshd
    from tests.fixtures.supervisord import RunningSupervisord

PROGRAMS = 20
MAX_CALLS = 20000


@dataclass
class Row:
    transport: str
    mode: str
    latencies: list[float]
    elapsed: float

    @property
    def calls(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.calls / self.elapsed

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


# -- stdlib baseline (blocking, in threads) ------------------------------------------------------------
def stdlib_worker(url: str, stop_at: float, out: list[float], budget: threading.Semaphore) -> None:
    proxy = xmlrpc.client.ServerProxy(url)
    while time.perf_counter() < stop_at and budget.acquire(blocking=False):
        start = time.perf_counter()
        infos = proxy.supervisor.getAllProcessInfo()
        out.append(time.perf_counter() - start)
        assert len(infos) == PROGRAMS


def measure_stdlib(url: str, seconds: float, concurrency: int) -> Row:
    budget = threading.Semaphore(MAX_CALLS)
    results: list[list[float]] = [[] for _ in range(concurrency)]
    start = time.perf_counter()
    stop_at = start + seconds
    with ThreadPoolExecutor(concurrency) as pool:
        for out in results:
            pool.submit(stdlib_worker, url, stop_at, out, budget)
    elapsed = time.perf_counter() - start
    mode = "sequential" if concurrency == 1 else f"{concurrency} in flight"
    return Row("stdlib ServerProxy, TCP", mode, [t for out in results for t in out], elapsed)


# -- our client ----------------------------------------------------------------------------------------
async def measure_client(transport: str, client: SupervisorClient, seconds: float, concurrency: int) -> Row:
    await client.get_all_process_info()  # connect (and tunnel) before timing
    latencies: list[float] = []
    budget = [MAX_CALLS]

    async def worker(stop_at: float) -> None:
        while time.perf_counter() < stop_at and budget[0] > 0:
            budget[0] -= 1
            start = time.perf_counter()
            infos = await client.get_all_process_info()
            latencies.append(time.perf_counter() - start)
            assert len(infos) == PROGRAMS

    start = time.perf_counter()
    await asyncio.gather(*(worker(start + seconds) for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    mode = "sequential" if concurrency == 1 else f"{concurrency} in flight"
    return Row(transport, mode, latencies, elapsed)


async def measure_ours(sv: RunningSupervisord, sshd: RunningSshd | None, seconds: float, concurrency: int) -> list[Row]:
    pool = SSHConnectionPool()
    makers: list[tuple[str, Callable[[], SupervisorClient]]] = [
        ("SupervisorClient, TCP", lambda: SupervisorClient.from_url(sv.url)),
        ("SupervisorClient, unix socket", lambda: SupervisorClient.from_unix_socket(str(sv.unix_socket))),
    ]
    if sshd is not None:
        cfg = sshd.ssh_config()
        makers += [
            (
                "SupervisorClient, SSH to remote unix socket",
                lambda: SupervisorClient.from_ssh(cfg, unix_socket=sv.unix_socket, pool=pool),
            ),
            (
                "SupervisorClient, SSH to remote TCP port",
                lambda: SupervisorClient.from_ssh(cfg, port=sv.port, pool=pool),
            ),
        ]
    rows = []
    try:
        for name, make in makers:
            for n in (1, concurrency):
                async with make() as client:
                    rows.append(await measure_client(name, client, seconds, n))
    finally:
        await pool.close()
    return rows


def table(rows: list[Row]) -> str:
    baseline = {row.mode: row.rate for row in rows if row.transport.startswith("stdlib")}
    lines = [
        "| transport | mode | calls | p50 ms | p99 ms | calls/s | x stdlib |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        ratio = row.rate / baseline[row.mode] if baseline.get(row.mode) else float("nan")
        lines.append(
            f"| {row.transport} | {row.mode} | {row.calls} | {row.percentile(0.5):.2f} | {row.percentile(0.99):.2f} "
            f"| {row.rate:.0f} | {ratio:.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per row (default 2 s)")
    parser.add_argument("--concurrency", type=int, default=10, help="calls in flight in the concurrent rows")
    args = parser.parse_args()

    sv = start_supervisord(sleepers(PROGRAMS), tcp=True, unix=True)
    sshd: RunningSshd | None = None
    try:
        try:
            sshd = start_sshd()
        except SshdUnavailableError as exc:
            print(f"(no SSH rows: {exc})", file=sys.stderr)
        rows = [measure_stdlib(sv.url, args.seconds, 1), measure_stdlib(sv.url, args.seconds, args.concurrency)]
        rows += asyncio.run(measure_ours(sv, sshd, args.seconds, args.concurrency))
    finally:
        sv.destroy()
        if sshd is not None:
            sshd.stop()
    print(f"getAllProcessInfo, {PROGRAMS} programs, supervisord on loopback, {args.seconds:g} s per row\n")
    print(table(rows))
    seq = [r for r in rows if r.mode == "sequential" and not r.transport.startswith("stdlib")]
    print(f"\nsequential p50, worst transport: {max(r.percentile(0.5) for r in seq):.2f} ms")


if __name__ == "__main__":
    main()
