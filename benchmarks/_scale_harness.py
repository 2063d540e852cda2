"""One case of ``triggerer_scale.py``: N monitoring triggers in one fresh process, one event loop.

Run by ``triggerer_scale.py`` as ``python benchmarks/_scale_harness.py SPEC.json RESULT.json`` in a
process of its own (so the RSS delta of one case is not blurred by memory freed by the one before),
in a session of its own (a Ctrl-C does not reach it; the parent sends it one SIGTERM, which -- like
SIGINT -- cancels every trigger and closes the clients and SSH connections before it exits; so does the
parent's death, through PR_SET_PDEATHSIG).

What it does, like the Airflow triggerer (``airflow/jobs/triggerer_job_runner.py``):

- one default asyncio event loop (``asyncio.run``; the triggerer does not use uvloop);
- the soft ``RLIMIT_NOFILE`` is set to the spec's ``nofile`` (``ulimit -n``; 1024 by default, a common
  service default);
- each trigger is re-created from its ``serialize()`` output (classpath + kwargs through JSON, so each
  holds its own copy of its kwargs, as rows loaded from the database do) and consumed as an async
  generator in its own task, after ``greenback.ensure_portal()`` as ``run_trigger`` does. The spec names
  the trigger class and the kwargs of each trigger (``SupervisorProgramsTrigger``, or the SSH provider's
  ``SSHRemoteJobTrigger`` for the side-by-side comparison);
- the trigger's poll (``SupervisorClient.get_all_process_info``; for the provider's trigger its first
  remote command, ``_check_completion``) is wrapped (here, in this process only) to time each round trip
  and attribute it to its trigger through a context variable.

Everything measured is written to RESULT.json; nothing is printed on stdout.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import cProfile
import gc
import importlib
import itertools
import json
import os
import re
import resource
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from airflow_supervisor_async.client import get_pool, shared_client_count
from tests.support import proc

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from airflow.triggers.base import BaseTrigger

TRIGGER_INDEX: contextvars.ContextVar[int] = contextvars.ContextVar("trigger_index", default=-1)
CLK_TCK = os.sysconf("SC_CLK_TCK")


# -- /proc readings ---------------------------------------------------------------------------------------
def rss_kib() -> int:
    """VmRSS of this process, KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid``, plus that of its children it waited for (an sshd session's shells), in
    seconds (0 if it is gone)."""
    fields = proc.stat_fields(pid)
    return sum(int(value) for value in fields[11:15]) / CLK_TCK if fields else 0.0


def rss_of(pids: Iterable[int]) -> tuple[int, float]:
    """(how many of ``pids`` are alive, their summed VmRSS in MiB)."""
    alive, kib = 0, 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        alive += 1
        kib += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    return alive, round(kib / 1024, 1)


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies over all cores, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    total = sum(values[:8])  # guest time is already counted in user
    return total - idle, total


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(1000 * value, digits)


class SpareFds:
    """A few descriptors held back, so that this benchmark can still read /proc when the triggers have
    used up the process's RLIMIT_NOFILE (``ulimit -n``): released only for synchronous reads (no await, so
    no trigger can take them meanwhile), then taken again."""

    def __init__(self, count: int = 16) -> None:
        self._fds = [os.open(os.devnull, os.O_RDONLY) for _ in range(count)]

    @property
    def held(self) -> int:
        """How many are held now."""
        return len(self._fds)

    @contextlib.contextmanager
    def released(self) -> Iterator[None]:
        count = len(self._fds)
        for fd in self._fds:
            os.close(fd)
        self._fds = []
        try:
            yield
        finally:
            for _ in range(count):
                with contextlib.suppress(OSError):
                    self._fds.append(os.open(os.devnull, os.O_RDONLY))


SPARE_FDS = SpareFds()


class CpuWatch:
    """CPU seconds used by a fixed set of processes between ``start()`` and ``stop()``."""

    def __init__(self, pids: Iterable[int]) -> None:
        self._pids = list(pids)
        self._start: dict[int, float] = {}

    def start(self) -> None:
        self._start = {pid: cpu_seconds(pid) for pid in self._pids}

    def stop(self) -> dict[int, float]:
        return {pid: max(0.0, cpu_seconds(pid) - self._start.get(pid, 0.0)) for pid in self._pids}


# -- instrumentation -----------------------------------------------------------------------------------
def error_kind(error: BaseException) -> str:
    """The error's type and message with quoted names and numbers blanked, to count alike errors together."""
    text = re.sub(r"\d+", "N", re.sub(r"'[^']*'", "'...'", str(error)))
    return f"{type(error).__name__}: {text[:200]}"


@dataclass
class Probe:
    """Poll timings. A poll belongs to the window if it *began* while ``recording``; each trigger's first
    poll (which sets up the client: connection, SSH forwarder) is timed apart, whenever it happens."""

    n: int
    recording: bool = False
    latencies: list[float] = field(default_factory=list)
    first_latencies: list[float] = field(default_factory=list)
    gaps: list[float] = field(default_factory=list)  # start-to-start, per trigger
    errors: dict[str, int] = field(default_factory=dict)
    polls_in_window: list[int] = field(default_factory=list)
    answered: set[int] = field(default_factory=set)  # triggers whose first poll is done
    last_start: dict[int, float] = field(default_factory=dict)
    raw: list[tuple[int, float, float]] = field(default_factory=list)  # (trigger, start, latency)
    all_answered: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.polls_in_window = [0] * self.n

    def begin(self, index: int, started: float) -> bool:
        """Note a poll's start; True if it belongs to the window."""
        previous = self.last_start.get(index)
        self.last_start[index] = started
        if not self.recording or index < 0:
            return False
        self.polls_in_window[index] += 1
        if previous is not None:
            self.gaps.append(started - previous)
        return True

    def end(self, index: int, started: float, error: BaseException | None, in_window: bool) -> None:
        if error is None and index >= 0 and index not in self.answered:
            self.first_latencies.append(time.perf_counter() - started)
            self.answered.add(index)
            if len(self.answered) >= self.n:
                self.all_answered.set()
        if not in_window:
            return
        if error is None:
            self.latencies.append(time.perf_counter() - started)
            self.raw.append((index, started, self.latencies[-1]))
        elif not isinstance(error, asyncio.CancelledError):
            key = error_kind(error)
            self.errors[key] = self.errors.get(key, 0) + 1


POLLS = {  # trigger classpath -> (module, class, method) that one poll of it goes through
    "airflow_supervisor_async.triggers.programs.SupervisorProgramsTrigger": (
        "airflow_supervisor_async.client.client",
        "SupervisorClient",
        "get_all_process_info",
    ),
    "airflow.providers.ssh.triggers.ssh_remote_job.SSHRemoteJobTrigger": (
        "airflow.providers.ssh.triggers.ssh_remote_job",
        "SSHRemoteJobTrigger",
        "_check_completion",
    ),
}


def instrument(probe: Probe, classpath: str) -> None:
    """Time every poll of the triggers of ``classpath`` (in this benchmark process only)."""
    module, name, method = POLLS[classpath]
    owner = getattr(importlib.import_module(module), name)
    original = getattr(owner, method)

    async def timed(self: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        index = TRIGGER_INDEX.get()
        in_window = probe.begin(index, started)
        try:
            result = await original(self, *args, **kwargs)
        except BaseException as exc:
            probe.end(index, started, exc, in_window)
            raise
        probe.end(index, started, None, in_window)
        return result

    setattr(owner, method, timed)


def timed_full_gc() -> float:
    """Seconds a full collection takes: what a generation-2 run (which Python starts on its own) stalls the loop."""
    started = time.perf_counter()
    gc.collect()
    return time.perf_counter() - started


class GcWatch:
    """Garbage collector pauses by generation while ``recording``: a long one stalls every trigger."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []  # (generation, seconds)
        self.recording = False
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        elif self.recording:
            self.pauses.append((info["generation"], time.perf_counter() - self._started))

    def summary(self) -> dict[str, Any]:
        by_generation = {g: [p for gen, p in self.pauses if gen == g] for g in (0, 1, 2)}
        return {
            "gc_runs": len(self.pauses),
            "gc_pause_max_ms": ms(max((p for _, p in self.pauses), default=None), 1),
            "gc_runs_by_generation": [len(by_generation[g]) for g in (0, 1, 2)],
            "gc_ms_by_generation": [round(1000 * sum(by_generation[g]), 1) for g in (0, 1, 2)],
            "full_gc_pause_max_ms": ms(max(by_generation[2], default=None), 1),
        }


def open_fd_count() -> int:
    """Open descriptors of this process, not counting the one that lists them nor the benchmark's spare ones;
    RLIMIT_NOFILE when they ran out."""
    try:
        return proc.open_fd_count() - 1 - SPARE_FDS.held
    except OSError:  # EMFILE: every descriptor is taken
        return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


async def lag_probe(samples: list[float], fds: list[int], recording: Callable[[], bool]) -> None:
    """How late a 100 ms timer fires (what the triggerer's blocked-main-thread watchdog looks at); every
    fifth tick, the open descriptors too (the most of them is reported, not just the last count)."""
    for tick in itertools.count():
        due = time.perf_counter() + 0.1
        await asyncio.sleep(0.1)
        if recording():
            samples.append(max(0.0, time.perf_counter() - due))
            if tick % 5 == 0:
                fds.append(open_fd_count())


# -- the triggerer's way of running triggers ---------------------------------------------------------------
def make_triggers(spec: dict[str, Any]) -> list[BaseTrigger]:
    """N triggers, each re-created from a serialized row, as the triggerer loads them."""
    module, _, name = spec["classpath"].rpartition(".")
    template_class = getattr(importlib.import_module(module), name)
    rows: list[str] = []
    for i in range(spec["n"]):
        classpath, kwargs = template_class(**spec["kwargs"][i % len(spec["kwargs"])]).serialize()
        rows.append(json.dumps([classpath, kwargs]))
    classes: dict[str, type[BaseTrigger]] = {}  # the triggerer caches trigger classes by classpath too
    triggers = []
    for row in rows:
        classpath, kwargs = json.loads(row)
        if classpath not in classes:
            module, _, name = classpath.rpartition(".")
            classes[classpath] = getattr(importlib.import_module(module), name)
        triggers.append(classes[classpath](**kwargs))
    return triggers


async def run_trigger(index: int, trigger: BaseTrigger, events: list[Any], greenback_portal: bool) -> None:
    """Like ``TriggerRunner.run_trigger``: a greenback portal, then the trigger's async generator."""
    if greenback_portal:
        import greenback

        await greenback.ensure_portal()
    TRIGGER_INDEX.set(index)
    async for event in trigger.run():
        events.append(event.payload)


# -- one case ----------------------------------------------------------------------------------------------
async def _wait_first_polls(probe: Probe, n: int, limit: float) -> float:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(limit):
            await probe.all_answered.wait()
    return len(probe.answered) / n


async def _cancel_all(tasks: list[asyncio.Task[None]]) -> dict[str, Any]:
    started = time.perf_counter()
    for task in tasks:
        task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    seconds = time.perf_counter() - started
    crashed = [r for r in results if isinstance(r, BaseException) and not isinstance(r, asyncio.CancelledError)]
    return {
        "cancel_seconds": round(seconds, 2),
        "cancelled": sum(1 for r in results if isinstance(r, asyncio.CancelledError)),
        "crashed": len(crashed),
        "crash_examples": sorted({f"{type(e).__name__}: {e}"[:200] for e in crashed})[:3],
    }


#: What a triggerer has imported before it runs a trigger of each kind (so that the RSS and objects measured
#: per trigger are the triggers', not the modules'): the trigger's module and what its first poll imports.
PRELOAD = {
    "airflow_supervisor_async.triggers.programs.SupervisorProgramsTrigger": [
        "airflow_supervisor_async.triggers.programs",
        "airflow.providers.common.compat.connection",
    ],
    "airflow.providers.ssh.triggers.ssh_remote_job.SSHRemoteJobTrigger": [
        "airflow.providers.ssh.triggers.ssh_remote_job",
        "airflow.providers.common.compat.connection",
    ],
}


def preload(classpath: str, greenback_portal: bool) -> None:
    for module in PRELOAD[classpath] + (["greenback"] if greenback_portal else []):
        with contextlib.suppress(ImportError):
            importlib.import_module(module)


async def measure(spec: dict[str, Any]) -> dict[str, Any]:
    n, interval, window = spec["n"], float(spec["interval"]), float(spec["window"])
    probe = Probe(n)
    preload(spec["classpath"], spec["greenback"])
    instrument(probe, spec["classpath"])
    greenback_portal = spec["greenback"] and os.environ.get("AIRFLOW_DISABLE_GREENBACK_PORTAL", "").lower() != "true"
    lags: list[float] = []
    gc_watch = GcWatch()
    gc.callbacks.append(gc_watch)
    fd_samples: list[int] = []
    lagger = asyncio.create_task(lag_probe(lags, fd_samples, lambda: probe.recording))
    await asyncio.sleep(0.3)
    full_gc_before = timed_full_gc()
    objects_before = len(gc.get_objects())
    rss_before = rss_kib()

    created = time.perf_counter()
    triggers = make_triggers(spec)
    events: list[Any] = []
    tasks = [asyncio.create_task(run_trigger(i, t, events, greenback_portal)) for i, t in enumerate(triggers)]
    create_seconds = time.perf_counter() - created
    result: dict[str, Any] = {"mode": spec["mode"], "triggers": n, "loop": type(asyncio.get_running_loop()).__name__}
    try:
        await asyncio.sleep(interval)  # warm-up: every trigger's first poll falls in its first interval
        coverage = await _wait_first_polls(probe, n, interval)  # ... and has been answered
        if spec.get("gc_freeze"):  # what a triggerer that froze its heap once running would see
            gc.collect()
            gc.freeze()

        sshd_port, sshd_pid = spec.get("sshd_port"), spec.get("sshd_pid")
        with SPARE_FDS.released():
            supervisords = CpuWatch(spec["supervisord_pids"])
            sshd = CpuWatch([sshd_pid, *proc.descendants(sshd_pid)] if sshd_pid else [])  # its per-connection processes
        await asyncio.sleep(0.2)  # the /proc scan above blocked the loop for a moment: not in the window
        with SPARE_FDS.released():
            busy0, total0 = machine_ticks()
            supervisords.start()
            sshd.start()
        profiler = cProfile.Profile() if spec.get("profile") else None
        probe.recording = gc_watch.recording = True
        cpu0, wall0 = time.process_time(), time.perf_counter()
        if profiler is not None:
            profiler.enable()
        await asyncio.sleep(window)
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(spec["profile"])
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        probe.recording = gc_watch.recording = False
        if spec.get("raw"):
            Path(spec["raw"]).write_text(json.dumps({"polls": probe.raw, "lags": lags}))  # noqa: ASYNC240
        with SPARE_FDS.released():
            sv_cpu, sshd_cpu = supervisords.stop(), sshd.stop()
            busy1, total1 = machine_ticks()
            full_gc_after = timed_full_gc()
            objects_after = len(gc.get_objects())
            rss_after = rss_kib()
            open_fds = open_fd_count()
            ssh_sshd = proc.established(sshd_port) if sshd_port else 0
            sshd_processes, sshd_rss = rss_of([sshd_pid, *proc.descendants(sshd_pid)] if sshd_pid else [])
        polls = len(probe.latencies) + sum(probe.errors.values())
        due = n * wall / interval
        late_limit = 1.5 * interval
        result |= {
            "first_poll_coverage": round(coverage, 4),
            "window_s": round(wall, 2),
            "create_s": round(create_seconds, 3),
            "cpu_pct_one_core": round(100 * cpu / wall, 1),
            "cpu_ms_per_poll": round(1000 * cpu / polls, 3) if polls else None,
            "rss_before_mib": round(rss_before / 1024, 1),
            "rss_after_mib": round(rss_after / 1024, 1),
            "rss_kib_per_trigger": round((rss_after - rss_before) / n, 2),
            "polls": polls,
            "polls_per_s": round(polls / wall, 1),
            "polls_due_per_s": round(n / interval, 1),
            "missed_pct": round(max(0.0, 100 * (1 - polls / due)), 1),
            "poll_errors": sum(probe.errors.values()),
            "error_examples": sorted(probe.errors.items(), key=lambda kv: -kv[1])[:3],
            "poll_p50_ms": ms(percentile(probe.latencies, 0.50)),
            "poll_p99_ms": ms(percentile(probe.latencies, 0.99)),
            "poll_max_ms": ms(max(probe.latencies, default=None)),
            "gap_max_s": round(max(probe.gaps, default=0.0), 2),
            "late_polls": sum(1 for g in probe.gaps if g > late_limit),
            "triggers_without_poll": sum(1 for c in probe.polls_in_window if c == 0),
            "first_poll_p99_ms": ms(percentile(probe.first_latencies, 0.99)),
            "first_poll_max_ms": ms(max(probe.first_latencies, default=None)),
            "loop_lag_p99_ms": ms(percentile(lags, 0.99), 1),
            "loop_lag_max_ms": ms(max(lags, default=None), 1),
            "gc_objects_per_trigger": round((objects_after - objects_before) / n, 1),
            "full_gc_ms_before_after": [ms(full_gc_before, 1), ms(full_gc_after, 1)],
            **gc_watch.summary(),
            "supervisord_cpu_pct_sum": round(100 * sum(sv_cpu.values()) / wall, 1),
            "supervisord_cpu_pct_max": round(100 * max(sv_cpu.values(), default=0.0) / wall, 1),
            "supervisord_cpu_ms_per_call": round(1000 * sum(sv_cpu.values()) / polls, 3) if polls else None,
            "sshd_cpu_pct": round(100 * sum(sshd_cpu.values()) / wall, 1),
            "machine_busy_pct": round(100 * (busy1 - busy0) / max(1, total1 - total0), 1),
            "cores": os.cpu_count(),
            "shared_clients": shared_client_count(),
            "open_fds": open_fds,
            "open_fds_max": max([open_fds, *fd_samples]),
            "ssh_connections_pool": get_pool().live_connections(),
            "ssh_connections_sshd": ssh_sshd,
            "sshd_processes": sshd_processes,
            "sshd_rss_mib": sshd_rss,
            "events_fired": len(events),
            "event_examples": [str(e)[:300] for e in events[:2]],
        }
    finally:
        result |= await _cancel_all(tasks)
        result["shared_clients_after_cancel"] = shared_client_count()
        await get_pool().close()
        lagger.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await lagger
        result["ssh_connections_after_close"] = get_pool().live_connections()
        if spec.get("sshd_port"):
            await asyncio.sleep(0.5)  # let sshd see the FINs
            result["sshd_connections_after_close"] = proc.established(spec["sshd_port"])
    return result


async def amain(spec: dict[str, Any]) -> dict[str, Any]:
    main = asyncio.current_task()
    assert main is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main.cancel)
    return await measure(spec)


def _die_with_parent() -> None:
    """SIGTERM this process if the benchmark driver dies without stopping it (Linux prctl)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def main(argv: list[str]) -> int:
    _die_with_parent()
    spec = json.loads(Path(argv[0]).read_text())
    if spec.get("nofile"):  # ulimit -n, as a service manager would set it
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(int(spec["nofile"]), hard), hard))
    try:
        result = asyncio.run(amain(spec))  # the default event loop, as the triggerer's asyncio.run(self.arun())
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted: triggers cancelled, clients closed", file=sys.stderr)
        return 130
    Path(argv[1]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
