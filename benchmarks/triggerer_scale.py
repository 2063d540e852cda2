"""How many supervisor jobs one triggerer can watch: N monitoring triggers in one event loop.

Runs N ``SupervisorProgramsTrigger``s the way the Airflow triggerer does -- one default asyncio loop
(the triggerer runs ``asyncio.run``, no uvloop), each trigger re-created from its serialized kwargs
and consumed as an async generator in its own task behind a greenback portal -- at a 5 s check
interval, under ``ulimit -n 1024`` (the case process sets its soft ``RLIMIT_NOFILE``; ``--nofile``).

Layout ``per-job`` (the default; what users deploy: every ``Supervisor`` block runs its own
supervisord): every trigger has its own endpoint, hence its own client. The endpoints are distinct
socket paths (symlinks) to 10 real supervisords (3 ``sleep 3600`` programs each), because 1000-10000
supervisord processes do not fit on this machine: the triggerer side is exactly per-job (one client,
one connection or SSH channel per poll, per job); the supervisord side is 10 processes answering
N/10 jobs' polls each, busier than real per-job supervisords would be. Layout ``shared``: triggers on
the same supervisord share one endpoint and client.

Modes: ``local`` (XML-RPC over the unix sockets) and ``ssh`` (through one real OpenSSH sshd listening
on 127.0.0.1 .. 127.0.0.10, all loopback, used as 10 distinct SSH hosts: supervisord k is reached
through host 127.0.0.k, so the per-loop pool holds 10 SSH connections). Default cases: the targets of
issue 10 -- ssh 1000, ssh 5000, local 10000; ``--modes``/``--sizes`` choose others (all combinations).

Each case runs in a fresh process (``_scale_harness.py``) so its RSS delta is its own. Per case: warm
up one interval (every trigger's first poll falls in it), then measure over ``--duration`` seconds
(default 3 intervals): event-loop CPU per poll and as % of one core, RSS per trigger, poll round trip
p50/p99 (the poll is ``getAllProcessInfo``), polls/s achieved vs due, late polls, errors, event-loop
lag (a 100 ms ticker; p99), garbage collections by generation, open fds, SSH connections (pool and
sshd side), and what the supervisords, the sshd and the whole machine spent meanwhile. Then every
trigger is cancelled and the case checks that nothing is left open.

Side by side (``--vs-provider``, default N = 100 and 300): N of the SSH provider's deferrable
``SSHRemoteJobTrigger`` (apache-airflow-providers-ssh; it holds one SSH connection per trigger and runs
two remote commands per poll) watching N remote jobs, against N of ours watching N per-job endpoints,
both through the same loopback sshd (host 127.0.0.1): SSH connections, sshd processes and their RSS,
triggerer fds, triggerer and sshd CPU.

The baseline in the same run is what the older design pays per watched job: one worker slot and one
Airflow task process running a poke-mode sensor, measured live with a real Airflow
(``_airflow_sensor_baseline.measure``; ~2 min) unless ``--no-baseline``.

    .venv/bin/python benchmarks/triggerer_scale.py [--modes local,ssh --sizes 100,1000,5000]
        [--layout per-job|shared] [--interval 5] [--duration SECONDS] [--nofile 1024]
        [--vs-provider 100,300 | --no-vs-provider] [--no-baseline] [--json]
        [--no-greenback] [--profile DIR] [--raw DIR]

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
OURS = "airflow_supervisor_async.triggers.programs.SupervisorProgramsTrigger"
PROVIDER = "airflow.providers.ssh.triggers.ssh_remote_job.SSHRemoteJobTrigger"
PROVIDER_CONN_ID = "supervisor_bench_ssh"
BLOCKED_WARNING_MS = 200.0  # the triggerer's [triggerer] blocked_main_thread_warning_threshold (0.2 s)


class Target:
    """Issue 10's targets for one case (per-job layout, 10 SSH hosts on loopback, 5 s, ulimit -n 1024)."""

    def __init__(self, cpu_pct: float, poll_p99_ms: float, lag_p99_ms: float, ssh_connections: int | None) -> None:
        self.cpu_pct = cpu_pct
        self.poll_p99_ms = poll_p99_ms
        self.lag_p99_ms = lag_p99_ms
        self.ssh_connections = ssh_connections

    open_fds = 100
    rss_kib = 30.0


TARGETS = {
    ("ssh", 1000): Target(cpu_pct=20, poll_p99_ms=50, lag_p99_ms=20, ssh_connections=SUPERVISORDS),
    ("ssh", 5000): Target(cpu_pct=60, poll_p99_ms=100, lag_p99_ms=50, ssh_connections=SUPERVISORDS),
    ("local", 10000): Target(cpu_pct=60, poll_p99_ms=100, lag_p99_ms=50, ssh_connections=None),
}


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


def our_kwargs(
    mode: str, daemons: list[RunningSupervisord], sshd: RunningSshd | None, n: int, links: Path | None, **common: Any
) -> list[dict[str, Any]]:
    """``SupervisorProgramsTrigger`` kwargs; trigger i uses entry ``i % len``. SSH: supervisord k is reached
    through SSH host 127.0.0.k (``sshd.hosts`` of them; 1 for the side-by-side run).

    ``links is None`` (layout ``shared``): one endpoint per supervisord, so triggers on the same supervisord
    share one client. Else (layout ``per-job``): one endpoint per trigger, a symlink in ``links`` to its
    supervisord's socket, as when every job has its own supervisord: one client per trigger, while the SSH
    connections stay one per host.
    """
    hosts = common.pop("hosts", len(daemons))
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
            ssh = sshd.ssh_config(host=f"127.0.0.{k % hosts + 1}", keepalive_interval=15.0)
        endpoint = public_endpoint(XmlRpcEndpoint(unix_socket=socket_path, ssh=ssh))
        result.append({"endpoint": endpoint, "programs": list(sleepers(PROGRAMS)), **common})
    return result


def provider_kwargs(n: int, jobs: Path, interval: float) -> list[dict[str, Any]]:
    """``SSHRemoteJobTrigger`` kwargs for ``n`` remote jobs that keep running (a log file, no exit code file),
    as ``SSHRemoteJobOperator`` leaves them on the remote host (here: this machine, through the loopback sshd)."""
    result = []
    for i in range(n):
        job = jobs / str(i)
        job.mkdir(parents=True, exist_ok=True)
        (job / "stdout.log").touch()
        result.append(
            {
                "ssh_conn_id": PROVIDER_CONN_ID,
                "remote_host": None,
                "job_id": f"bench-{i}",
                "job_dir": str(job),
                "log_file": str(job / "stdout.log"),
                "exit_code_file": str(job / "exit_code"),
                "remote_os": "posix",
                "poll_interval": int(interval),
            }
        )
    return result


def provider_connection(sshd: RunningSshd) -> dict[str, str]:
    """The environment that defines the provider trigger's Airflow SSH connection (loopback sshd, host 127.0.0.1)."""
    conn = {
        "conn_type": "ssh",
        "host": "127.0.0.1",
        "port": sshd.port,
        "login": sshd.username,
        "extra": {"key_file": str(sshd.user_key), "known_hosts": str(sshd.known_hosts)},
    }
    return {f"AIRFLOW_CONN_{PROVIDER_CONN_ID.upper()}": json.dumps(conn)}


# -- one case in its own process -------------------------------------------------------------------------
class CaseFailedError(RuntimeError):
    pass


def run_case(spec: dict[str, Any], workdir: Path, child: list[subprocess.Popen[bytes]]) -> dict[str, Any]:
    """Run one case in a fresh process; returns its measurements."""
    name = spec["name"]
    spec_path, out_path, log_path = (workdir / f"{name}.{ext}" for ext in ("spec.json", "result.json", "log"))
    spec_path.write_text(json.dumps(spec))
    limit = 180 + 3 * float(spec["interval"]) + float(spec["window"])
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, str(HARNESS), str(spec_path), str(out_path)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **spec.get("env", {})},
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
    row["trigger"] = spec["trigger"]
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


class Bench:
    """What the run started (daemons, sshd, work dir) and its options: builds the cases' specs."""

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.daemons: list[RunningSupervisord] = []
        self.sshd: RunningSshd | None = None
        self.child: list[subprocess.Popen[bytes]] = []

    def spec(self, trigger: str, mode: str, n: int, kwargs: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        """What ``_scale_harness.py`` needs for one case."""
        args, sshd = self.args, self.sshd
        over_ssh = mode == "ssh" and sshd is not None and sshd.process is not None
        name = f"{trigger}-{mode}-{n}"
        return {
            "name": name,
            "trigger": trigger,
            "classpath": OURS if trigger == "ours" else PROVIDER,
            "mode": mode,
            "layout": args.layout,
            "n": n,
            "interval": args.interval,
            "window": args.duration,
            "kwargs": kwargs,
            "nofile": args.nofile,
            "supervisord_pids": [d.pid for d in self.daemons],
            "sshd_port": sshd.port if over_ssh and sshd is not None else None,
            "sshd_pid": sshd.process.pid if over_ssh and sshd is not None and sshd.process else None,
            "greenback": not args.no_greenback,
            "gc_freeze": args.gc_freeze,
            "profile": str(args.profile / f"{name}.prof") if args.profile else None,
            "raw": str(args.raw / f"{name}.json") if args.raw else None,
            **extra,
        }

    def ours(self, mode: str, n: int, hosts: int = SUPERVISORDS) -> dict[str, Any]:
        links = None
        if self.args.layout == "per-job":
            links = self.workdir / "links"
            links.mkdir(exist_ok=True)
        deadline = time.time() + 24 * 3600  # far away: the triggers keep watching for the whole case
        kwargs = our_kwargs(
            mode, self.daemons, self.sshd, n, links, check_interval=self.args.interval, deadline=deadline, hosts=hosts
        )
        return self.spec("ours", mode, n, kwargs)

    def provider(self, n: int) -> dict[str, Any]:
        assert self.sshd is not None
        kwargs = provider_kwargs(n, self.workdir / "jobs", self.args.interval)
        return self.spec("provider", "ssh", n, kwargs, env=provider_connection(self.sshd))

    def run(self, spec: dict[str, Any]) -> dict[str, Any]:
        """``run_case`` with a progress line on stderr; a failed case becomes a row saying so."""
        name, n = spec["name"], spec["n"]
        started = time.monotonic()
        try:
            row = run_case(spec, self.workdir, self.child)
        except CaseFailedError as exc:
            print(f"[{name}] FAILED: {exc}", file=sys.stderr, flush=True)
            return {"trigger": spec["trigger"], "mode": spec["mode"], "triggers": n, "failed": str(exc)}
        row["case_wall_s"] = round(time.monotonic() - started, 1)
        print(
            f"[{name}] {row['case_wall_s']} s: CPU {row['cpu_pct_one_core']}% of a core, "
            f"p99 {row['poll_p99_ms']} ms, {row['polls_per_s']}/{row['polls_due_per_s']} polls/s, "
            f"{row['poll_errors']} errors, at most {row['open_fds_max']} fds",
            file=sys.stderr,
            flush=True,
        )
        return row


def run_all(
    args: argparse.Namespace, cases: list[tuple[str, int]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The main cases, then the side-by-side cases; everything started is stopped on the way out."""
    bench = Bench(args, Path(tempfile.mkdtemp(prefix="triggerer-scale-")))
    rows: list[dict[str, Any]] = []
    versus: list[dict[str, Any]] = []
    try:
        with STOPPER.deferred():
            for _ in range(SUPERVISORDS):
                if STOPPER.pending:
                    break
                bench.daemons.append(start_supervisord(sleepers(PROGRAMS), tcp=False))
            if (any(mode == "ssh" for mode, _ in cases) or args.vs_provider) and not STOPPER.pending:
                bench.sshd = multi_host_sshd()
        for mode, n in cases:
            rows.append(bench.run(bench.ours(mode, n)))
        for n in args.vs_provider:
            versus.append(bench.run(bench.provider(n)))
            versus.append(bench.run(bench.ours("ssh", n, hosts=1)))
    except KeyboardInterrupt:
        print("\ninterrupted: stopping the case process, supervisords and sshd", file=sys.stderr, flush=True)
        raise
    finally:
        with STOPPER.deferred():
            stop_everything(bench.child, bench.daemons, bench.sshd, bench.workdir)
    return rows, versus


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
        "| mode | jobs | poll errors | open fds (most seen) | SSH conns (pool/sshd) | CPU % of a core | CPU ms/poll "
        "| poll p50 / p99 ms | loop lag p99 / max ms | RSS KiB/job | polls/s (due) | late polls |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        if "failed" in r:
            lines.append(f"| {r['mode']} | {r['triggers']} | case failed (see stderr) |" + " |" * 9)
            continue
        ssh = f"{r['ssh_connections_pool']}/{r['ssh_connections_sshd']}" if r["mode"] == "ssh" else "-"
        lines.append(
            f"| {r['mode']} | {r['triggers']} | {r['poll_errors']} | {r['open_fds_max']} | {ssh} "
            f"| {r['cpu_pct_one_core']} | {_v(r['cpu_ms_per_poll'])} | {_v(r['poll_p50_ms'])} / {_v(r['poll_p99_ms'])} "
            f"| {_v(r['loop_lag_p99_ms'])} / {_v(r['loop_lag_max_ms'])} | {r['rss_kib_per_trigger']} "
            f"| {r['polls_per_s']} ({r['polls_due_per_s']}) | {r['late_polls']} |"
        )
    return "\n".join(lines)


def side_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| mode | jobs | supervisord CPU % (10 summed / busiest) | sshd CPU % | machine busy % of all cores "
        "| RSS MiB before -> after | GC runs gen 0/1/2 (ms spent) | longest full GC ms "
        "| full GC ms before -> after, GC objects/job | first poll p99 ms | cancel s | left open after cancel |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        if "failed" in r:
            continue
        sshd = r["sshd_cpu_pct"] if r["mode"] == "ssh" else "-"
        full_gc = r["full_gc_ms_before_after"]
        runs, spent = r["gc_runs_by_generation"], r["gc_ms_by_generation"]
        left = f"{r['shared_clients_after_cancel']} clients / {r['ssh_connections_after_close']} SSH" + (
            f" / {r.get('sshd_connections_after_close', '-')} at sshd" if r["mode"] == "ssh" else ""
        )
        lines.append(
            f"| {r['mode']} | {r['triggers']} | {r['supervisord_cpu_pct_sum']} / {r['supervisord_cpu_pct_max']} "
            f"| {sshd} | {r['machine_busy_pct']} (of {r['cores']}) | {r['rss_before_mib']} -> {r['rss_after_mib']} "
            f"| {'/'.join(map(str, runs))} ({'/'.join(map(str, spent))}) | {_v(r['full_gc_pause_max_ms'])} "
            f"| {full_gc[0]} -> {full_gc[1]}, {r['gc_objects_per_trigger']} | {_v(r['first_poll_p99_ms'])} "
            f"| {r['cancel_seconds']} ({r['cancelled']}/{r['crashed']}) | {left} |"
        )
    return "\n".join(lines)


def versus_table(rows: list[dict[str, Any]]) -> str:
    names = {"provider": "SSHRemoteJobTrigger (SSH provider)", "ours": "SupervisorProgramsTrigger (this project)"}
    lines = [
        "| trigger | jobs | SSH connections | sshd processes | sshd RSS MiB | triggerer open fds "
        "| triggerer CPU % | sshd CPU % (with its commands) | RSS KiB/job | poll p50 / p99 ms | poll errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        name = names[r["trigger"]]
        if "failed" in r:
            lines.append(f"| {name} | {r['triggers']} | case failed (see stderr) |" + " |" * 8)
            continue
        lines.append(
            f"| {name} | {r['triggers']} | {r['ssh_connections_sshd']} | {r['sshd_processes']} | {r['sshd_rss_mib']} "
            f"| {r['open_fds_max']} | {r['cpu_pct_one_core']} | {r['sshd_cpu_pct']} | {r['rss_kib_per_trigger']} "
            f"| {_v(r['poll_p50_ms'])} / {_v(r['poll_p99_ms'])} | {r['poll_errors']} |"
        )
    return "\n".join(lines)


def _checks(r: dict[str, Any], t: Target) -> list[tuple[str, str, bool]]:
    p99, lag = r["poll_p99_ms"], r["loop_lag_p99_ms"]
    checks = [
        ("poll errors 0", str(r["poll_errors"]), r["poll_errors"] == 0),
        (f"open fds < {t.open_fds}", str(r["open_fds_max"]), r["open_fds_max"] < t.open_fds),
        (f"CPU < {t.cpu_pct:g}% of one core", f"{r['cpu_pct_one_core']}%", r["cpu_pct_one_core"] < t.cpu_pct),
        (f"poll p99 < {t.poll_p99_ms:g} ms", f"{p99} ms", p99 is not None and p99 < t.poll_p99_ms),
        (f"loop lag p99 < {t.lag_p99_ms:g} ms", f"{lag} ms", lag is not None and lag < t.lag_p99_ms),
        (f"RSS < {t.rss_kib:g} KiB per job", f"{r['rss_kib_per_trigger']} KiB", r["rss_kib_per_trigger"] < t.rss_kib),
    ]
    if t.ssh_connections is not None:
        conns = (r["ssh_connections_pool"], r["ssh_connections_sshd"])
        checks.append(
            (
                f"{t.ssh_connections} SSH connections",
                f"pool {conns[0]}, sshd {conns[1]}",
                conns == (t.ssh_connections,) * 2,
            )
        )
    return checks


def targets(rows: list[dict[str, Any]]) -> list[str]:
    """PASS/FAIL per target of issue 10, for the cases of this run that have one."""
    out = []
    for (mode, n), target in TARGETS.items():
        row = next((r for r in rows if (r["mode"], r["triggers"]) == (mode, n)), None)
        if row is None or "failed" in row:
            out.append(f"- NOT CHECKED: {mode} {n}: {'the case failed' if row else 'not run'}")
            continue
        failed = [f"{name} (measured {value})" for name, value, ok in _checks(row, target) if not ok]
        passed = [name for name, _, ok in _checks(row, target) if ok]
        verdict = "PASS" if not failed else "FAIL"
        out.append(
            f"- {verdict}: {mode} {n}: " + ("; ".join(failed) + " -- " if failed else "") + "met: " + ", ".join(passed)
        )
    return out


def _trouble(r: dict[str, Any], interval: float) -> list[str]:
    p99, lag = r["poll_p99_ms"] or 0.0, r["loop_lag_p99_ms"] or 0.0
    trouble = []
    if r["missed_pct"] > 5:
        trouble.append(f"{r['missed_pct']}% of the due polls were not made")
    if r["late_polls"]:
        trouble.append(f"{r['late_polls']} polls came over {1.5 * interval:g} s after the previous one")
    if r["poll_errors"]:
        trouble.append(f"{r['poll_errors']} polls failed (e.g. {r['error_examples'][0][0]})")
    if p99 >= 50:
        trouble.append(f"poll p99 {p99} ms (max {r['poll_max_ms']} ms)")
    if lag >= 20:
        trouble.append(f"loop lag p99 {lag} ms (max {r['loop_lag_max_ms']} ms)")
    if lag >= BLOCKED_WARNING_MS:
        trouble.append("a triggerer would log 'async thread was blocked'")
    if r["events_fired"]:
        trouble.append(f"{r['events_fired']} triggers fired an event (e.g. {r['event_examples'][0][:150]})")
    return trouble


def _why(r: dict[str, Any]) -> list[str]:
    why = []
    if r["poll_errors"]:
        kinds = "; ".join(f"{count} x {kind}" for kind, count in r["error_examples"])
        why.append(f"polls failed ({kinds}) and their triggers backed off before retrying")
    full_max, lag_max = r["full_gc_pause_max_ms"] or 0.0, r["loop_lag_max_ms"] or 0.0
    runs = r["gc_runs_by_generation"]
    if full_max >= 20 and full_max >= 0.5 * lag_max:
        before, after = r["full_gc_ms_before_after"]
        why.append(
            f"garbage collection: {runs[2]} full collections in the {r['window_s']} s window (and "
            f"{runs[0]} / {runs[1]} of generations 0 / 1), the longest {full_max} ms (the loop's longest stall "
            f"was {lag_max} ms). A full "
            f"collection of this process took {before} ms before the triggers existed (the Airflow modules a "
            f"triggerer imports) and {after} ms with them (~{r['gc_objects_per_trigger']} GC-tracked objects per "
            "job); polls in flight during one wait it out"
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
            f"{r['supervisord_cpu_pct_max']}%, machine {r['machine_busy_pct']}%): polls due at the same moment "
            "queue behind each other in the one loop"
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
            f"- {mode}, {r['triggers']} jobs: each supervisord answered ~{rate:.0f} getAllProcessInfo calls/s "
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
    """RSS per extra job between sizes, free of the fixed cost (SSH connections, first imports)."""
    out = []
    for mode in dict.fromkeys(r["mode"] for r in rows):
        ok = sorted((r for r in rows if r["mode"] == mode and "failed" not in r), key=lambda r: r["triggers"])
        for small, big in itertools.pairwise(ok):
            delta = (big["rss_after_mib"] - big["rss_before_mib"]) - (small["rss_after_mib"] - small["rss_before_mib"])
            per = 1024 * delta / (big["triggers"] - small["triggers"])
            out.append(f"{mode} {small['triggers']}->{big['triggers']}: {per:.1f} KiB per extra job")
    return out


def baseline_section(report: dict[str, Any], rows: list[dict[str, Any]]) -> list[str]:
    poke = next(m for m in report["modes"] if m["mode"] == "poke")
    deferred = next(m for m in report["modes"] if m["mode"] == "deferred")
    job_kib = poke["rss_mib_median"] * 1024
    runner_kib = poke["task_runner_rss_mib_median"] * 1024
    ok = [r for r in rows if "failed" not in r]
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
    for r in ok:
        per = max(r["rss_kib_per_trigger"], 0.1)
        lines.append(
            f"| this project: {r['mode']}, {r['triggers']} jobs in one triggerer | 0 | 0 | {r['rss_kib_per_trigger']} "
            f"KiB (x{job_kib / per:,.0f} less than the poking job; x{runner_kib / per:,.0f} less than its task "
            "runner alone) |"
        )
    if ok:
        lines += [
            "",
            "| jobs watched | poke design: worker slots / task processes / PSS | this design: worker slots / "
            "processes / RSS in the triggerer |",
            "| ---: | ---: | ---: |",
        ]
        for r in sorted(ok, key=lambda r: r["triggers"]):
            n = r["triggers"]
            lines.append(
                f"| {n} ({r['mode']}) | {n} / {n * poke['task_processes']} / {n * poke['pss_mib_median'] / 1024:,.1f} "
                f"GiB | 0 / 0 / {n * r['rss_kib_per_trigger'] / 1024:,.1f} MiB |"
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


def _sizes(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, list[tuple[str, int]]]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", help="job counts (default: the targets: ssh 1000, 5000; local 10000)")
    parser.add_argument("--modes", help="local, ssh or both (default: the targets)")
    parser.add_argument("--interval", type=float, default=5.0, help="check interval, seconds (default 5)")
    parser.add_argument("--duration", type=float, help="measurement window, seconds (default 3 intervals)")
    parser.add_argument("--nofile", type=int, default=1024, help="the case process's ulimit -n (default 1024)")
    parser.add_argument("--vs-provider", default="100,300", help="side-by-side sizes vs SSHRemoteJobTrigger")
    parser.add_argument("--no-vs-provider", action="store_true", help="skip the side-by-side cases")
    parser.add_argument("--no-baseline", action="store_true", help="skip the live Airflow poke-sensor baseline")
    parser.add_argument("--baseline-seconds", type=float, default=30.0, help="baseline sampling time (default 30)")
    parser.add_argument("--no-greenback", action="store_true", help="skip the triggerer's per-trigger greenback portal")
    parser.add_argument(
        "--layout",
        choices=("per-job", "shared"),
        default="per-job",
        help="per-job (default): a distinct endpoint (socket symlink) per job, i.e. one client per job, as with "
        "one supervisord per job; shared: jobs on one supervisord share its endpoint and client",
    )
    parser.add_argument(
        "--gc-freeze",
        action="store_true",
        help="gc.collect() and gc.freeze() in the case process once every trigger polled (what a triggerer that froze "
        "its heap after start-up would see); off by default: the Airflow triggerer does not",
    )
    parser.add_argument("--json", action="store_true", help="print the JSON report too")
    parser.add_argument("--profile", type=Path, help="write a cProfile of each case's window to DIR/NAME.prof")
    parser.add_argument("--raw", type=Path, help="write each case's polls (trigger, start, latency) to DIR/NAME.json")
    args = parser.parse_args(argv)
    args.duration = args.duration or 3 * args.interval
    args.vs_provider = [] if args.no_vs_provider else _sizes(args.vs_provider)
    if args.sizes is None and args.modes is None:
        cases = list(TARGETS)
    else:
        modes = [m.strip() for m in (args.modes or "local,ssh").split(",") if m.strip()]
        sizes = _sizes(args.sizes or "100,1000,5000")
        if not sizes or any(n <= 0 or n > 20000 for n in sizes) or not set(modes) <= {"local", "ssh"}:
            parser.error("--sizes: 1..20000 each; --modes: local and/or ssh")
        cases = [(mode, n) for mode in modes for n in sizes]
    if any(n <= 0 or n > 2000 for n in args.vs_provider):
        parser.error("--vs-provider: 1..2000 each (the provider's trigger holds an SSH connection per job)")
    if not 0.5 <= args.interval <= 60 or not 1 <= args.duration <= 300:
        parser.error("--interval 0.5..60 s, --duration 1..300 s (the run stays bounded)")
    for folder in (args.profile, args.raw):
        if folder:
            folder.mkdir(parents=True, exist_ok=True)
    return args, cases


def report(args: argparse.Namespace, rows: list[dict[str, Any]], versus: list[dict[str, Any]], load: float) -> None:
    print(
        f"## One event loop, N SupervisorProgramsTriggers: {SUPERVISORDS} supervisords x {PROGRAMS} programs, "
        f"check interval {args.interval:g} s, measured over {args.duration:g} s after a {args.interval:g} s warm-up, "
        f"ulimit -n {args.nofile}\n"
    )
    if args.layout == "per-job":
        print(
            "Layout per-job: every job has its own endpoint (a socket path of its own, a symlink to one of the 10 "
            "supervisords), so its own client, as when each job runs its own supervisord; a connection (over SSH: a "
            "channel of the host's pooled connection) is opened per poll. 10 SSH hosts: one sshd on 127.0.0.1-10.\n"
        )
    else:
        print("Layout shared: jobs watching the same supervisord share its endpoint and client (10 clients in all).\n")
    loop = next((r.get("loop") for r in rows + versus if "loop" in r), "?")
    print(
        f"Python {platform.python_version()}, default asyncio loop ({loop}; the triggerer uses no uvloop), greenback "
        f"portal per trigger: {'no' if args.no_greenback else 'yes'}; {os.cpu_count()} cores, load average "
        f"{load:.2f} at start. Poll = one getAllProcessInfo round trip as a trigger sees it. 'late polls': "
        f"start-to-start gap over {1.5 * args.interval:g} s.\n"
    )
    print(main_table(rows))
    print("\nWhat else the run cost, and the clean-up check:\n")
    print(side_table(rows))
    extra = marginal_rss(rows)
    if extra:
        print("\nMarginal RSS (fixed costs excluded): " + "; ".join(extra) + ".")
    print("\n## Targets (issue 10)\n")
    print("\n".join(targets(rows)))
    print("\n## Cases that fell short\n")
    trouble = notes(rows, args.interval)
    print("\n".join(trouble) if trouble else "- none: every case made its polls on time, without errors.")
    print("\n## The supervisords under the largest N\n")
    print("\n".join(supervisord_load(rows)))
    if versus:
        print(
            f"\n## Side by side: the SSH provider's SSHRemoteJobTrigger vs ours, N jobs on one SSH host (loopback "
            f"sshd, 127.0.0.1), check interval {args.interval:g} s\n"
        )
        print(versus_table(versus))


def main(argv: list[str] | None = None) -> int:
    args, cases = parse_args(argv)
    STOPPER.install()
    started = time.monotonic()
    load = os.getloadavg()[0]
    rows, versus = run_all(args, cases)
    baseline: dict[str, Any] | None = None
    if not args.no_baseline:
        print("[baseline] starting a real Airflow (api-server, scheduler, dag-processor, triggerer)", file=sys.stderr)
        baseline = run_baseline(args.baseline_seconds)
    report(args, rows, versus, load)
    if baseline is not None:
        print()
        print("\n".join(baseline_section(baseline, rows)))
    print(f"\nwall time {time.monotonic() - started:.0f} s")
    if args.json:
        print(json.dumps({"cases": rows, "versus": versus, "baseline": baseline}, indent=2))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted; everything started was stopped", file=sys.stderr)
        sys.exit(130)
