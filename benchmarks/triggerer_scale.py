"""How many supervisor jobs one triggerer can watch: N monitoring triggers in one event loop.

Runs N ``SupervisorProgramsTrigger``s the way the Airflow triggerer does -- one default asyncio loop
(the triggerer runs ``asyncio.run``, no uvloop), each trigger re-created from its serialized kwargs
and consumed as an async generator in its own task behind a greenback portal -- against 10 real
supervisord instances (3 ``sleep 3600`` programs each), at a 5 s check interval, for N = 100, 1000,
5000, in two modes:

- ``local``: XML-RPC over each supervisord's unix socket;
- ``ssh``: through one real OpenSSH sshd listening on 127.0.0.1 .. 127.0.0.10 (all loopback), used as
  10 distinct SSH hosts: the per-loop pool keys on (host, port, user), so it should hold exactly 10
  SSH connections, each forwarding to one supervisord's unix socket.

Each (mode, N) runs in a fresh process (``_scale_harness.py``) so its RSS delta is its own. Per case:
warm up one interval (every trigger's first poll falls in it), then measure over ``--duration``
seconds (default 3 intervals): event-loop CPU per poll and as % of one core, RSS per trigger
(VmRSS after - before creating the triggers, / N), ``getAllProcessInfo`` round trip p50/p99,
polls/s achieved vs due (N / interval), late polls (start-to-start gap over 1.5 intervals), errors,
event-loop lag (a 100 ms ticker; p99), SSH connections (pool and sshd side), and what the
supervisords, the sshd and the whole machine spent meanwhile. Then every trigger is cancelled and
the case checks that nothing is left open.

The baseline in the same run is what the older design pays per watched job: one worker slot and one
Airflow task process running a poke-mode sensor, measured live with a real Airflow
(``_airflow_sensor_baseline.measure``; ~2 min) unless ``--no-baseline``.

    .venv/bin/python benchmarks/triggerer_scale.py [--sizes 100,1000,5000] [--modes local,ssh]
        [--interval 5] [--duration SECONDS] [--no-baseline] [--json]
        [--layout shared|per-job] [--no-greenback] [--profile DIR] [--raw DIR]

``--layout per-job`` gives every trigger its own endpoint (a symlink to one of the 10 sockets), which is
what one supervisord per job looks like to the triggerer: one client, one kept-alive connection (and over
SSH one local forwarder) per trigger -- compare ``open fds``, and try it under ``ulimit -n 1024``.

Loopback only; supervisords, sshd and every case process are stopped on exit, Ctrl-C included.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import itertools
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from airflow_supervisor_async.config import XmlRpcEndpoint
from airflow_supervisor_async.hooks.supervisor import public_endpoint
from tests.fixtures.sshd import RunningSshd, start_sshd
from tests.fixtures.supervisord import RunningSupervisord, sleepers, start_supervisord

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from types import FrameType

BENCH_DIR = Path(__file__).resolve().parent
SUPERVISORDS = 10
PROGRAMS = 3
HARNESS = BENCH_DIR / "_scale_harness.py"
# the targets, for 1000 triggers over SSH
TARGET_TRIGGERS = 1000
TARGET_CPU_PCT = 25.0
TARGET_RSS_KIB = 50.0
TARGET_P99_MS = 100.0
TARGET_SSH_CONNECTIONS = SUPERVISORDS
BLOCKED_WARNING_MS = 200.0  # the triggerer's [triggerer] blocked_main_thread_warning_threshold (0.2 s)


# -- stopping: a Ctrl-C never leaves a daemon behind ------------------------------------------------------
class Stopper:
    """SIGINT (Ctrl-C) and SIGTERM handling for the whole run.

    The first signal raises ``KeyboardInterrupt`` -- at once, or, inside ``deferred()`` (starting a daemon,
    stopping everything), when that block ends, so a daemon being started is registered first and a clean-up
    is never cut short. Later signals only print that we are stopping. An inherited "ignore SIGINT" (a
    background job of a script) is respected.
    """

    def __init__(self) -> None:
        self.pending = False  # a signal arrived while deferring
        self.stopping = False  # KeyboardInterrupt has been raised
        self._deferring = 0

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self._handle)
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.stopping or self.pending:
            print("already stopping: everything started is being stopped", file=sys.stderr, flush=True)
        elif self._deferring:
            self.pending = True
        else:
            self.stopping = True
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        self._deferring += 1
        try:
            yield
        finally:
            self._deferring -= 1
        if self.pending and not self._deferring and not self.stopping:
            self.stopping = True
            raise KeyboardInterrupt


STOPPER = Stopper()


def multi_host_sshd() -> RunningSshd:
    """One sshd listening on 127.0.0.1 .. 127.0.0.10 (loopback only), with a known_hosts entry per address."""
    sshd = start_sshd()
    try:
        sshd.kill()
        config = sshd.config_path.read_text()
        extra = "".join(f"ListenAddress 127.0.0.{i}\n" for i in range(2, SUPERVISORDS + 1))
        sshd.config_path.write_text(config.replace("ListenAddress 127.0.0.1\n", "ListenAddress 127.0.0.1\n" + extra))
        sshd.known_hosts.write_text(
            "".join(f"[127.0.0.{i}]:{sshd.port} {sshd.host_key}\n" for i in range(1, SUPERVISORDS + 1))
        )
        sshd.start()
    except BaseException:
        sshd.stop()
        raise
    return sshd


def endpoints(
    mode: str, daemons: list[RunningSupervisord], sshd: RunningSshd | None, n: int, links: Path | None
) -> list[dict[str, Any]]:
    """The triggers' ``endpoint`` kwargs; trigger i uses entry ``i % len``. SSH: supervisord k is reached
    through SSH host 127.0.0.k.

    ``links is None`` (layout ``shared``): one endpoint per supervisord, so triggers on the same supervisord
    share one client. Else (layout ``per-job``): one endpoint per trigger, a symlink in ``links`` to its
    supervisord's socket, as when every job has its own supervisord: one client (and, over SSH, one
    forwarder) per trigger, while the SSH connections stay one per host.
    """
    result = []
    for i in range(len(daemons) if links is None else n):
        k = i % len(daemons)
        socket_path = daemons[k].unix_socket
        assert socket_path is not None
        if links is not None:
            link = links / f"{i}.sock"
            if not link.is_symlink():
                link.symlink_to(socket_path)
            socket_path = link
        ssh = None
        if mode == "ssh":
            assert sshd is not None
            ssh = sshd.ssh_config(host=f"127.0.0.{k + 1}", keepalive_interval=15.0)
        result.append(public_endpoint(XmlRpcEndpoint(unix_socket=socket_path, ssh=ssh)))
    return result


# -- one case in its own process -------------------------------------------------------------------------
class CaseFailedError(RuntimeError):
    pass


def run_case(spec: dict[str, Any], workdir: Path, child: list[subprocess.Popen[bytes]]) -> dict[str, Any]:
    """Run one (mode, N) in a fresh process; returns its measurements."""
    name = f"{spec['mode']}-{spec['n']}"
    spec_path, out_path, log_path = (workdir / f"{name}.{ext}" for ext in ("spec.json", "result.json", "log"))
    spec_path.write_text(json.dumps(spec))
    limit = 120 + 3 * float(spec["interval"]) + float(spec["window"])
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, str(HARNESS), str(spec_path), str(out_path)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C does not reach it: stop_child() stops it, exactly once
        )
        child.append(proc)  # interrupted while it runs, it stays listed: stop_everything() stops it
        try:
            proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            stop_child(proc)
            child.remove(proc)
            raise CaseFailedError(f"{name}: no result within {limit:.0f} s") from None
        child.remove(proc)
    if proc.returncode != 0 or not out_path.exists():
        tail = log_path.read_text(errors="replace")[-3000:]
        raise CaseFailedError(f"{name}: the case process exited with {proc.returncode}:\n{tail}")
    row: dict[str, Any] = json.loads(out_path.read_text())
    row["warnings_logged"] = log_path.read_text(errors="replace").count("did not answer")
    return row


def stop_child(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM once (it cancels its triggers and closes its connections), SIGKILL after 60 s."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def case_spec(
    args: argparse.Namespace,
    mode: str,
    n: int,
    daemons: list[RunningSupervisord],
    sshd: RunningSshd | None,
    links: Path | None,
) -> dict[str, Any]:
    """What ``_scale_harness.py`` needs for one case."""
    over_ssh = mode == "ssh" and sshd is not None
    return {
        "mode": mode,
        "layout": args.layout,
        "n": n,
        "interval": args.interval,
        "window": args.duration,
        "endpoints": endpoints(mode, daemons, sshd, n, links),
        "programs": list(sleepers(PROGRAMS)),
        "supervisord_pids": [d.pid for d in daemons],
        "sshd_port": sshd.port if over_ssh and sshd is not None else None,
        "sshd_pid": sshd.process.pid if over_ssh and sshd is not None and sshd.process else None,
        "greenback": not args.no_greenback,
        "profile": str(args.profile / f"{mode}-{n}.prof") if args.profile else None,
        "raw": str(args.raw / f"{mode}-{n}.json") if args.raw else None,
    }


def run_and_say(spec: dict[str, Any], workdir: Path, child: list[subprocess.Popen[bytes]]) -> dict[str, Any]:
    """``run_case`` with a progress line on stderr; a failed case becomes a row saying so."""
    mode, n = spec["mode"], spec["n"]
    started = time.monotonic()
    try:
        row = run_case(spec, workdir, child)
    except CaseFailedError as exc:
        print(f"[{mode} N={n}] FAILED: {exc}", file=sys.stderr, flush=True)
        return {"mode": mode, "triggers": n, "failed": str(exc)}
    row["case_wall_s"] = round(time.monotonic() - started, 1)
    print(
        f"[{mode} N={n}] {row['case_wall_s']} s: CPU {row['cpu_pct_one_core']}% of a core, "
        f"p99 {row['poll_p99_ms']} ms, {row['polls_per_s']}/{row['polls_due_per_s']} polls/s",
        file=sys.stderr,
        flush=True,
    )
    return row


def run_all(args: argparse.Namespace, sizes: list[int], modes: list[str]) -> list[dict[str, Any]]:
    daemons: list[RunningSupervisord] = []
    sshd: RunningSshd | None = None
    child: list[subprocess.Popen[bytes]] = []
    workdir = Path(tempfile.mkdtemp(prefix="triggerer-scale-"))
    rows: list[dict[str, Any]] = []
    try:
        with STOPPER.deferred():
            for _ in range(SUPERVISORDS):
                if STOPPER.pending:
                    break
                daemons.append(start_supervisord(sleepers(PROGRAMS), tcp=False))
            if "ssh" in modes and not STOPPER.pending:
                sshd = multi_host_sshd()
        links = None
        if args.layout == "per-job":
            links = workdir / "l"
            links.mkdir()
        for mode in modes:
            for n in sizes:
                spec = case_spec(args, mode, n, daemons, sshd, links)
                rows.append(run_and_say(spec, workdir, child))
    except KeyboardInterrupt:
        print("\ninterrupted: stopping the case process, supervisords and sshd", file=sys.stderr, flush=True)
        raise
    finally:
        with STOPPER.deferred():
            stop_everything(child, daemons, sshd, workdir)
    return rows


def stop_everything(
    child: list[subprocess.Popen[bytes]], daemons: list[RunningSupervisord], sshd: RunningSshd | None, workdir: Path
) -> None:
    """Stop what this run started; one failure does not keep the rest running. The supervisords stop in
    parallel (each takes 1-3 s: supervisord's shutdown ticks once a second)."""

    def attempt(stop: Callable[[], object]) -> None:
        try:
            stop()
        except Exception as exc:  # keep stopping the others
            print(f"clean-up step failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)

    for proc in list(child):
        attempt(functools.partial(stop_child, proc))
    with ThreadPoolExecutor(max_workers=len(daemons) or 1) as pool:
        list(pool.map(attempt, [daemon.stop for daemon in daemons]))
    if sshd is not None:
        attempt(sshd.stop)
    attempt(functools.partial(shutil.rmtree, workdir, ignore_errors=True))


# -- output ----------------------------------------------------------------------------------------------
def _v(value: Any) -> str:
    return "-" if value is None else str(value)


def main_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| mode | triggers | CPU % of a core | CPU ms/poll | RSS KiB/trigger | poll p50 ms | poll p99 ms "
        "| poll max ms | polls/s (due) | missed % | late polls | errors | loop lag p99 / max ms "
        "| SSH conns (pool/sshd) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        if "failed" in r:
            lines.append(f"| {r['mode']} | {r['triggers']} | case failed (see stderr) |" + " |" * 11)
            continue
        ssh = f"{r['ssh_connections_pool']}/{r['ssh_connections_sshd']}" if r["mode"] == "ssh" else "-"
        lines.append(
            f"| {r['mode']} | {r['triggers']} | {r['cpu_pct_one_core']} | {_v(r['cpu_ms_per_poll'])} "
            f"| {r['rss_kib_per_trigger']} | {_v(r['poll_p50_ms'])} | {_v(r['poll_p99_ms'])} "
            f"| {_v(r['poll_max_ms'])} | {r['polls_per_s']} ({r['polls_due_per_s']}) | {r['missed_pct']} "
            f"| {r['late_polls']} | {r['poll_errors']} | {_v(r['loop_lag_p99_ms'])} / {_v(r['loop_lag_max_ms'])} "
            f"| {ssh} |"
        )
    return "\n".join(lines)


def side_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| mode | triggers | supervisord CPU % (10 summed / busiest) | supervisord CPU ms per call | sshd CPU % "
        "| machine busy % of all cores | RSS MiB before -> after | open fds | GC runs (max pause ms) "
        "| full GC ms before -> after, GC objects/trigger "
        "| first poll p99 / max ms (client setup) | create s "
        "| cancel s (cancelled/crashed) "
        "| left open after cancel (clients / SSH pool / sshd) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        if "failed" in r:
            continue
        sshd = r["sshd_cpu_pct"] if r["mode"] == "ssh" else "-"
        full_gc = r["full_gc_ms_before_after"]
        left = f"{r['shared_clients_after_cancel']} / {r['ssh_connections_after_close']} / " + (
            str(r.get("sshd_connections_after_close", "-")) if r["mode"] == "ssh" else "-"
        )
        lines.append(
            f"| {r['mode']} | {r['triggers']} | {r['supervisord_cpu_pct_sum']} / {r['supervisord_cpu_pct_max']} "
            f"| {_v(r['supervisord_cpu_ms_per_call'])} | {sshd} | {r['machine_busy_pct']} (of {r['cores']}) "
            f"| {r['rss_before_mib']} -> {r['rss_after_mib']} | {r['open_fds']} "
            f"| {r['gc_runs']} ({_v(r['gc_pause_max_ms'])}) "
            f"| {full_gc[0]} -> {full_gc[1]}, {r['gc_objects_per_trigger']} "
            f"| {_v(r['first_poll_p99_ms'])} / {_v(r['first_poll_max_ms'])} | {r['create_s']} "
            f"| {r['cancel_seconds']} ({r['cancelled']}/{r['crashed']}) | {left} |"
        )
    return "\n".join(lines)


def targets(rows: list[dict[str, Any]]) -> list[str]:
    row = next((r for r in rows if r["mode"] == "ssh" and r["triggers"] == TARGET_TRIGGERS and "failed" not in r), None)
    if row is None:
        return [f"- NOT CHECKED: no successful ssh case with {TARGET_TRIGGERS} triggers in this run"]
    p99 = row["poll_p99_ms"] if row["poll_p99_ms"] is not None else float("inf")
    checks = [
        (f"CPU under {TARGET_CPU_PCT:g}% of one core", f"{row['cpu_pct_one_core']}%", row["cpu_pct_one_core"] < 25),
        (
            f"RSS under {TARGET_RSS_KIB:g} KiB per trigger",
            f"{row['rss_kib_per_trigger']} KiB",
            row["rss_kib_per_trigger"] < TARGET_RSS_KIB,
        ),
        (f"poll p99 under {TARGET_P99_MS:g} ms", f"{row['poll_p99_ms']} ms", p99 < TARGET_P99_MS),
        (
            f"exactly {TARGET_SSH_CONNECTIONS} SSH connections",
            f"pool {row['ssh_connections_pool']}, sshd {row['ssh_connections_sshd']}",
            row["ssh_connections_pool"] == TARGET_SSH_CONNECTIONS
            and row["ssh_connections_sshd"] == TARGET_SSH_CONNECTIONS,
        ),
    ]
    return [
        f"- {'PASS' if ok else 'FAIL'}: {TARGET_TRIGGERS} triggers over SSH, {name} (measured: {value})"
        for name, value, ok in checks
    ]


def _trouble(r: dict[str, Any], interval: float) -> list[str]:
    p99, lag = r["poll_p99_ms"] or 0.0, r["loop_lag_p99_ms"] or 0.0
    trouble = []
    if r["missed_pct"] > 5:
        trouble.append(f"{r['missed_pct']}% of the due polls were not made")
    if r["late_polls"]:
        trouble.append(f"{r['late_polls']} polls came over {1.5 * interval:g} s after the previous one")
    if r["poll_errors"]:
        trouble.append(f"{r['poll_errors']} polls failed (e.g. {r['error_examples'][0][0]})")
    if p99 >= TARGET_P99_MS:
        trouble.append(f"poll p99 {p99} ms (max {r['poll_max_ms']} ms)")
    if lag >= BLOCKED_WARNING_MS:
        trouble.append(f"loop lag p99 {lag} ms: a triggerer would log 'async thread was blocked'")
    if r["events_fired"]:
        trouble.append(f"{r['events_fired']} triggers fired an event (e.g. {r['event_examples'][0][:150]})")
    return trouble


def _why(r: dict[str, Any]) -> list[str]:
    why = []
    if r["poll_errors"]:
        kinds = "; ".join(f"{count} x {kind}" for kind, count in r["error_examples"])
        why.append(f"polls failed ({kinds}) and their triggers backed off before retrying")
    gc_max, lag_max = r["gc_pause_max_ms"] or 0.0, r["loop_lag_max_ms"] or 0.0
    if gc_max >= 50 and gc_max >= 0.5 * lag_max:
        before, after = r["full_gc_ms_before_after"]
        why.append(
            f"garbage collection: {r['gc_runs']} collections (all generations) in the window, the longest "
            f"{gc_max} ms (the loop's longest stall was {lag_max} ms). A full collection of this process took "
            f"{before} ms before the triggers existed (the Airflow modules a triggerer imports) and {after} ms "
            "with them "
            f"(~{r['gc_objects_per_trigger']} GC-tracked objects per trigger, mostly asyncio/greenback machinery); "
            "polls in flight during one wait it out"
        )
    if r["cpu_pct_one_core"] >= 80:
        why.append(f"the event loop used {r['cpu_pct_one_core']}% of its one core")
    if r["supervisord_cpu_pct_max"] >= 80:
        why.append(f"the busiest supervisord (single-threaded) used {r['supervisord_cpu_pct_max']}% of a core")
    if r["machine_busy_pct"] >= 85:
        sshd = f" + sshd {r['sshd_cpu_pct']}%" if r["mode"] == "ssh" else ""
        why.append(
            f"the machine's {r['cores']} cores were {r['machine_busy_pct']}% busy (event loop "
            f"{r['cpu_pct_one_core']}% + supervisords {r['supervisord_cpu_pct_sum']}%{sshd} of one core, "
            "plus whatever else runs on this shared machine)"
        )
    if not why:
        why.append(
            f"no process was saturated (event loop {r['cpu_pct_one_core']}% of a core, busiest supervisord "
            f"{r['supervisord_cpu_pct_max']}%): polls due at the same moment queue behind the shared client's 10 "
            "connections per supervisord and behind each other in the one loop"
        )
    return why


def supervisord_load(rows: list[dict[str, Any]]) -> list[str]:
    """Per mode, at the largest N: how hard each supervisord worked, against what it can do."""
    out = []
    for mode in dict.fromkeys(r["mode"] for r in rows):
        ok = [r for r in rows if r["mode"] == mode and "failed" not in r]
        if not ok:
            continue
        r = max(ok, key=lambda r: r["triggers"])
        per_call = r["supervisord_cpu_ms_per_call"] or 0.0
        rate = r["polls_per_s"] / SUPERVISORDS
        capacity = f"~{1000 / per_call:,.0f}" if per_call else "?"
        verdict = (
            "not the bottleneck" if r["supervisord_cpu_pct_max"] < 50 else "near its limit: answers queue up there"
        )
        out.append(
            f"- {mode}, {r['triggers']} triggers: each supervisord answered ~{rate:.0f} getAllProcessInfo calls/s "
            f"at {per_call} ms of CPU each; the busiest used {r['supervisord_cpu_pct_max']}% of a core "
            f"(single-threaded; by CPU alone it could answer {capacity} calls/s of this size): {verdict}."
        )
    return out


def notes(rows: list[dict[str, Any]], interval: float) -> list[str]:
    """Plain words on every case that fell short: what was late, and what was saturated meanwhile."""
    out = []
    for r in rows:
        if "failed" in r:
            last = r["failed"].strip().splitlines()[-1][:300]
            out.append(f"- {r['mode']}/{r['triggers']}: the case failed: {last}")
            continue
        trouble = _trouble(r, interval)
        if trouble:
            out.append(f"- {r['mode']}/{r['triggers']}: " + "; ".join(trouble) + ". Why: " + "; ".join(_why(r)) + ".")
    return out


def marginal_rss(rows: list[dict[str, Any]]) -> list[str]:
    """RSS per extra trigger between sizes, free of the fixed cost (clients, SSH connections, first imports)."""
    out = []
    for mode in dict.fromkeys(r["mode"] for r in rows):
        ok = sorted((r for r in rows if r["mode"] == mode and "failed" not in r), key=lambda r: r["triggers"])
        for small, big in itertools.pairwise(ok):
            delta = (big["rss_after_mib"] - big["rss_before_mib"]) - (small["rss_after_mib"] - small["rss_before_mib"])
            per = 1024 * delta / (big["triggers"] - small["triggers"])
            out.append(f"{mode} {small['triggers']}->{big['triggers']}: {per:.1f} KiB per extra trigger")
    return out


def baseline_section(report: dict[str, Any], rows: list[dict[str, Any]]) -> list[str]:
    poke = next(m for m in report["modes"] if m["mode"] == "poke")
    deferred = next(m for m in report["modes"] if m["mode"] == "deferred")
    job_kib = poke["rss_mib_median"] * 1024
    runner_kib = poke["task_runner_rss_mib_median"] * 1024
    ok = [r for r in rows if "failed" not in r]
    ref = next((r for r in ok if r["mode"] == "ssh" and r["triggers"] == TARGET_TRIGGERS), ok[0] if ok else None)
    worst = max(ok, key=lambda r: r["rss_kib_per_trigger"]) if ok else None
    lines = [
        f"## Baseline, measured in this run: the older design, one poking sensor task per watched job "
        f"(real Airflow, LocalExecutor, {report['seconds']:.0f} s)",
        "",
        "| design | worker slots per job | processes per job | RSS per job |",
        "| --- | ---: | ---: | ---: |",
        f"| poke-mode sensor task (airflow-supervisor) | 1 | {poke['task_processes']} "
        f"| {poke['rss_mib_median']} MiB ({poke['task_runner_rss_mib_median']} MiB task runner alone; "
        f"PSS {poke['pss_mib_median']} MiB) |",
        f"| deferred sensor, real triggerer (state {'/'.join(deferred['states'])}) | 0 "
        f"| {deferred['task_processes']} | 0 (its wait is a trigger) |",
    ]
    if ref is not None and worst is not None:
        for label, r in (("this benchmark", ref), ("this benchmark, worst case", worst)):
            per = max(r["rss_kib_per_trigger"], 0.1)
            lines.append(
                f"| {label}: {r['mode']}, {r['triggers']} triggers | 0 | 0 | {r['rss_kib_per_trigger']} KiB "
                f"(x{job_kib / per:,.0f} less than the poking job; x{runner_kib / per:,.0f} less than its task "
                "runner alone) |"
            )
        lines += [
            "",
            "| jobs watched | poke design: worker slots / task processes / PSS (RSS with shared pages split) "
            "| this design: worker slots / processes / RSS in the triggerer |",
            "| ---: | ---: | ---: |",
        ]
        for r in sorted(ok, key=lambda r: (r["mode"] != ref["mode"], r["triggers"])):
            if r["mode"] != ref["mode"]:
                continue
            n = r["triggers"]
            lines.append(
                f"| {n} | {n} / {n * poke['task_processes']} / {n * poke['pss_mib_median'] / 1024:,.1f} GiB "
                f"| 0 / 0 / {n * r['rss_kib_per_trigger'] / 1024:,.1f} MiB |"
            )
    lines.append(
        "\nShared by all deferred jobs (not per job): the triggerer, "
        f"{report['shared_rss_mib_median']['triggerer']} MiB RSS. Airflow db migrate "
        f"{report.get('migrate_seconds')} s, cluster start {report.get('cluster_start_seconds')} s."
    )
    return lines


def run_baseline(seconds: float) -> dict[str, Any]:
    from _airflow_sensor_baseline import measure

    return measure(seconds=seconds, interval=5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,1000,5000", help="trigger counts (default 100,1000,5000)")
    parser.add_argument("--modes", default="local,ssh", help="local, ssh or both (default local,ssh)")
    parser.add_argument("--interval", type=float, default=5.0, help="check interval, seconds (default 5)")
    parser.add_argument("--duration", type=float, help="measurement window, seconds (default 3 intervals)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the live Airflow poke-sensor baseline")
    parser.add_argument("--baseline-seconds", type=float, default=30.0, help="baseline sampling time (default 30)")
    parser.add_argument("--no-greenback", action="store_true", help="skip the triggerer's per-trigger greenback portal")
    parser.add_argument(
        "--layout",
        choices=("shared", "per-job"),
        default="shared",
        help="shared (default): triggers on one supervisord share its client; per-job: a distinct endpoint "
        "(socket symlink) per trigger, i.e. one client per trigger as with one supervisord per job",
    )
    parser.add_argument("--json", action="store_true", help="print the JSON report too")
    parser.add_argument("--profile", type=Path, help="write a cProfile of each case's window to DIR/MODE-N.prof")
    parser.add_argument("--raw", type=Path, help="write each case's polls (trigger, start, latency) to DIR/MODE-N.json")
    args = parser.parse_args(argv)
    args.duration = args.duration or 3 * args.interval
    for folder in (args.profile, args.raw):
        if folder:
            folder.mkdir(parents=True, exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not sizes or any(n <= 0 or n > 20000 for n in sizes) or not set(modes) <= {"local", "ssh"}:
        parser.error("--sizes: 1..20000 each; --modes: local and/or ssh")
    if not 0.5 <= args.interval <= 60 or not 1 <= args.duration <= 300:
        parser.error("--interval 0.5..60 s, --duration 1..300 s (the run stays bounded)")
    STOPPER.install()
    started = time.monotonic()
    load = os.getloadavg()
    rows = run_all(args, sizes, modes)
    report: dict[str, Any] | None = None
    if not args.no_baseline:
        print("[baseline] starting a real Airflow (api-server, scheduler, dag-processor, triggerer)", file=sys.stderr)
        report = run_baseline(args.baseline_seconds)

    print(
        f"## One event loop, N SupervisorProgramsTriggers: {SUPERVISORDS} supervisords x {PROGRAMS} programs, "
        f"check interval {args.interval:g} s, measured over {args.duration:g} s after a {args.interval:g} s warm-up\n"
    )
    if args.layout == "shared":
        print("Layout shared: triggers watching the same supervisord share its client (10 clients in all).\n")
    else:
        print(
            "Layout per-job: every trigger has its own endpoint (a socket symlink), as when each job has its own "
            "supervisord: one client per trigger (over SSH: one forwarder per trigger, 10 SSH connections).\n"
        )
    print(
        f"Python {platform.python_version()}, default asyncio loop ({rows[0].get('loop', '?') if rows else '?'}; "
        f"the triggerer uses no uvloop), greenback portal per trigger: {'no' if args.no_greenback else 'yes'}; "
        f"{os.cpu_count()} cores, load average {load[0]:.2f} at start. Poll = one getAllProcessInfo round trip as a "
        "trigger sees it (queueing for one of the shared client's 10 connections included). 'late polls': "
        f"start-to-start gap over {1.5 * args.interval:g} s.\n"
    )
    print(main_table(rows))
    print("\nWhat else the run cost, and the clean-up check:\n")
    print(side_table(rows))
    extra = marginal_rss(rows)
    if extra:
        print("\nMarginal RSS (fixed costs -- clients, SSH connections -- excluded): " + "; ".join(extra) + ".")
    print(f"\n## Targets ({TARGET_TRIGGERS} triggers over SSH)\n")
    print("\n".join(targets(rows)))
    trouble = notes(rows, args.interval)
    print("\n## Cases that fell short\n")
    print("\n".join(trouble) if trouble else "- none: every case made its polls on time, without errors.")
    print("\n## The supervisords under the largest N\n")
    print("\n".join(supervisord_load(rows)))
    if report is not None:
        print()
        print("\n".join(baseline_section(report, rows)))
    print(f"\nwall time {time.monotonic() - started:.0f} s")
    if args.json:
        print(json.dumps({"cases": rows, "baseline": report}, indent=2))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted; everything started was stopped", file=sys.stderr)
        sys.exit(130)
