"""What one ``getAllProcessInfo`` call costs, per transport and HTTP stack, against the stdlib and aiohttp.

Starts its own real supervisord (``--programs`` ``sleep`` programs, default 3 as in the scale benchmark;
unix socket + loopback TCP) and a real OpenSSH sshd on 127.0.0.1 (skipped with a note when sshd is
missing), using the test fixtures' plain helpers, then measures, for a few seconds per row:

- ``xmlrpc.client.ServerProxy`` over TCP (the baseline; concurrency = one proxy per thread);
- aiohttp (``ClientSession``, the HTTP stack this client used before) over the unix socket, with its
  connection kept alive and with a connection per call, decoding with the same XML-RPC decoder;
- ``SupervisorClient`` (h11, a connection per call) over TCP, the unix socket, and SSH (one channel per
  call) to the remote unix socket and to the remote loopback port;

sequentially (one call at a time) and with 10 calls in flight. Per row: latency p50/p99, calls/s, CPU of
this process per call, and objects allocated per call (CPython's object allocator, counted by a small C
helper compiled at start -- ``_alloc_count``; "n/a" without a C compiler). Every allocation brings the next
garbage collection closer, which is what stalls a triggerer watching thousands of jobs.

Run: ``.venv/bin/python benchmarks/client_latency.py [--seconds 2] [--concurrency 10] [--programs 3]``
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
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _alloc_count

from airflow_supervisor_async.client import SSHConnectionPool, SupervisorClient
from airflow_supervisor_async.client.xmlrpc import decode_response, encode_request
from tests.fixtures.sshd import SshdUnavailableError, start_sshd
from tests.fixtures.supervisord import sleepers, start_supervisord

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from tests.fixtures.sshd import RunningSshd
    from tests.fixtures.supervisord import RunningSupervisord

MAX_CALLS = 20000
METHOD = "supervisor.getAllProcessInfo"


@dataclass
class Row:
    transport: str
    mode: str
    latencies: list[float]
    elapsed: float
    cpu: float
    allocations: int | None

    @property
    def calls(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.calls / self.elapsed

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _mode(concurrency: int) -> str:
    return "sequential" if concurrency == 1 else f"{concurrency} in flight"


# -- stdlib baseline (blocking, in threads) ------------------------------------------------------------
def stdlib_worker(url: str, stop_at: float, out: list[float], budget: threading.Semaphore, programs: int) -> None:
    proxy = xmlrpc.client.ServerProxy(url)
    while time.perf_counter() < stop_at and budget.acquire(blocking=False):
        start = time.perf_counter()
        infos = proxy.supervisor.getAllProcessInfo()
        out.append(time.perf_counter() - start)
        assert len(infos) == programs


def measure_stdlib(url: str, seconds: float, concurrency: int, programs: int) -> Row:
    budget = threading.Semaphore(MAX_CALLS)
    results: list[list[float]] = [[] for _ in range(concurrency)]
    start, cpu, allocated = time.perf_counter(), time.process_time(), _alloc_count.count()
    stop_at = start + seconds
    with ThreadPoolExecutor(concurrency) as pool:
        for out in results:
            pool.submit(stdlib_worker, url, stop_at, out, budget, programs)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    allocations = None if allocated is None else (_alloc_count.count() or 0) - allocated
    latencies = [t for out in results for t in out]
    return Row("stdlib ServerProxy, TCP", _mode(concurrency), latencies, elapsed, cpu, allocations)


# -- asyncio rows ----------------------------------------------------------------------------------------
async def measure_calls(
    transport: str, call: Callable[[], Awaitable[list[Any]]], seconds: float, concurrency: int, programs: int
) -> Row:
    assert len(await call()) == programs  # connect (and set up) before timing
    latencies: list[float] = []
    budget = [MAX_CALLS]

    async def worker(stop_at: float) -> None:
        while time.perf_counter() < stop_at and budget[0] > 0:
            budget[0] -= 1
            start = time.perf_counter()
            infos = await call()
            latencies.append(time.perf_counter() - start)
            assert len(infos) == programs

    start, cpu, allocated = time.perf_counter(), time.process_time(), _alloc_count.count()
    await asyncio.gather(*(worker(start + seconds) for _ in range(concurrency)))
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    allocations = None if allocated is None else (_alloc_count.count() or 0) - allocated
    return Row(transport, _mode(concurrency), latencies, elapsed, cpu, allocations)


async def aiohttp_rows(sv: RunningSupervisord, seconds: float, concurrency: int, programs: int) -> list[Row]:
    """aiohttp's ClientSession on the unix socket (kept-alive connections, and a connection per call)."""
    import aiohttp

    body = encode_request(METHOD, ())
    rows = []
    for label, force_close in (("kept alive", False), ("connection per call", True)):
        connector = aiohttp.UnixConnector(path=str(sv.unix_socket), force_close=force_close)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def call(session: aiohttp.ClientSession = session) -> list[Any]:
                async with session.post("http://localhost/RPC2", data=body, headers={"Content-Type": "text/xml"}) as r:
                    return list(decode_response(await r.read(), METHOD))

            for n in (1, concurrency):
                rows.append(await measure_calls(f"aiohttp, unix socket, {label}", call, seconds, n, programs))
    return rows


async def our_rows(
    sv: RunningSupervisord, sshd: RunningSshd | None, seconds: float, concurrency: int, programs: int
) -> list[Row]:
    pool = SSHConnectionPool()
    makers: list[tuple[str, Callable[[], SupervisorClient]]] = [
        ("SupervisorClient, TCP", lambda: SupervisorClient.from_url(sv.url)),
        ("SupervisorClient, unix socket", lambda: SupervisorClient.from_unix_socket(str(sv.unix_socket))),
    ]
    if sshd is not None:
        cfg = sshd.ssh_config()
        makers += [
            (
                "SupervisorClient, SSH channel to remote unix socket",
                lambda: SupervisorClient.from_ssh(cfg, unix_socket=sv.unix_socket, pool=pool),
            ),
            (
                "SupervisorClient, SSH channel to remote TCP port",
                lambda: SupervisorClient.from_ssh(cfg, port=sv.port, pool=pool),
            ),
        ]
    rows = []
    try:
        for name, make in makers:
            for n in (1, concurrency):
                async with make() as client:
                    rows.append(await measure_calls(name, client.get_all_process_info, seconds, n, programs))
    finally:
        await pool.close()
    return rows


def table(rows: list[Row]) -> str:
    baseline = {row.mode: row.rate for row in rows if row.transport.startswith("stdlib")}
    lines = [
        "| transport | mode | calls | p50 ms | p99 ms | calls/s | x stdlib | CPU us/call | allocations/call |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        ratio = row.rate / baseline[row.mode] if baseline.get(row.mode) else float("nan")
        allocations = "n/a" if row.allocations is None else f"{row.allocations / row.calls:,.0f}"
        lines.append(
            f"| {row.transport} | {row.mode} | {row.calls} | {row.percentile(0.5):.2f} | {row.percentile(0.99):.2f} "
            f"| {row.rate:.0f} | {ratio:.1f} | {1e6 * row.cpu / row.calls:,.0f} | {allocations} |"
        )
    return "\n".join(lines)


async def measure_async(
    sv: RunningSupervisord, sshd: RunningSshd | None, seconds: float, concurrency: int, programs: int
) -> list[Row]:
    return [
        *await aiohttp_rows(sv, seconds, concurrency, programs),
        *await our_rows(sv, sshd, seconds, concurrency, programs),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per row (default 2 s)")
    parser.add_argument("--concurrency", type=int, default=10, help="calls in flight in the concurrent rows")
    parser.add_argument("--programs", type=int, default=3, help="programs of the supervisord (default 3)")
    args = parser.parse_args()
    counting = _alloc_count.install()

    sv = start_supervisord(sleepers(args.programs), tcp=True, unix=True)
    sshd: RunningSshd | None = None
    try:
        try:
            sshd = start_sshd()
        except SshdUnavailableError as exc:
            print(f"(no SSH rows: {exc})", file=sys.stderr)
        rows = [
            measure_stdlib(sv.url, args.seconds, 1, args.programs),
            measure_stdlib(sv.url, args.seconds, args.concurrency, args.programs),
        ]
        rows += asyncio.run(measure_async(sv, sshd, args.seconds, args.concurrency, args.programs))
    finally:
        sv.destroy()
        if sshd is not None:
            sshd.stop()
    print(f"getAllProcessInfo, {args.programs} programs, supervisord on loopback, {args.seconds:g} s per row\n")
    print(table(rows))
    if not counting:
        print("\n(allocations: n/a -- no C compiler to build the counter)")


if __name__ == "__main__":
    main()
