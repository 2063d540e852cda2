"""``SupervisorProgramsTrigger``: watch supervisord's programs until they finish, fail or run out of time."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import random
import socket
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from ..client import SupervisorAuthError, SupervisorError, shared_client
from ..decisions import MonitoringEvent, Outcome
from ..hooks.ssh import airflow_pool
from ..hooks.supervisor import SupervisorHook
from .outcome import judge, program_summary

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from ..client import SupervisorClient
    from ..config import XmlRpcEndpoint

__all__ = ("SupervisorProgramsTrigger", "this_host")

_MAX_BACKOFF = 30.0
_CALL_TIMEOUT_RANGE = (5.0, 30.0)


def this_host() -> str:
    """This host's name as Airflow records it for task instances (``[core] hostname_callable``)."""
    try:
        from airflow.sdk.api.client import get_hostname
    except ImportError:  # pragma: no cover - every supported Airflow has it
        return socket.getfqdn()
    return str(get_hostname())


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _iso(epoch: float | None) -> str | None:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds") if epoch is not None else None


class SupervisorProgramsTrigger(BaseTrigger):
    """Poll supervisord every ``check_interval`` seconds and fire one event with the outcome.

    Outcomes: ``done`` (all programs exited with an expected code), ``failed`` (one exited unexpectedly,
    went FATAL or was stopped outside Airflow; its log tails are attached), ``deadline`` (``deadline`` or
    ``window_end`` passed while programs run) and ``unreachable`` (no answer for ``unreachable_after``
    seconds, retried with jittered exponential backoff meanwhile).

    Every poll is bounded by ``call_timeout`` seconds in all (connecting, over SSH too, included), whatever
    the server does -- answers slowly, drips bytes, is stopped with SIGSTOP. Polls that fail are retried
    until ``unreachable_after`` seconds have passed since the first of them began, the last retry starting
    by then: ``unreachable`` is reported at most ``unreachable_after + call_timeout`` seconds after the
    first failed poll began.

    All times are absolute (epoch seconds), so a trigger re-created from ``serialize()`` after a
    triggerer restart keeps the same deadlines. The kwargs hold no secret: credentials come from the
    Airflow connections named in ``endpoint``.

    :param endpoint: ``XmlRpcEndpoint`` as JSON data without secrets (see ``public_endpoint``).
    :param programs: supervisord program (group) names to watch.
    :param exitcodes: expected exit codes per program; default ``[0]``.
    :param check_interval: seconds between polls (a little jitter is added). Default 5.
    :param deadline: epoch seconds at which the job must end (``runtime``/``endtime``), or None.
    :param window_end: epoch seconds at which this DAG run stops watching (``check_timeout``), or None.
    :param unreachable_after: seconds of consecutive failed polls before the outcome is ``unreachable``.
    :param call_timeout: seconds one poll may take in all (and reading the log tails of failed programs).
        Default: ``unreachable_after``, at least 5 and at most 30.
    :param log_tail_bytes: bytes of stdout and stderr attached per failed program. Default 4096.
    :param restarts: restarts so far; echoed back in the event so it survives ``airflow dags test``.
    :param worker_host: name of the host whose worker started a local-shape job's supervisord (as Airflow
        names hosts). When supervisord cannot be reached, its unix socket does not exist here (or its TCP
        address is loopback) and this triggerer runs on another host, the watch ends at once saying so,
        instead of retrying for ``unreachable_after`` seconds. None (remote shape, older rows): no such check.
    """

    def __init__(
        self,
        *,
        endpoint: dict[str, Any],
        programs: list[str],
        exitcodes: dict[str, list[int]] | None = None,
        check_interval: float = 5.0,
        deadline: float | None = None,
        window_end: float | None = None,
        unreachable_after: float = 60.0,
        log_tail_bytes: int = 4096,
        restarts: int = 0,
        call_timeout: float | None = None,
        worker_host: str | None = None,
        **legacy: Any,  # stored rows of older versions may carry arguments we no longer use
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # Airflow's BaseTrigger.__init__ is unannotated
        self.endpoint = endpoint
        self.programs = list(programs)
        self.exitcodes = dict(exitcodes or {})
        self.check_interval = float(check_interval)
        self.deadline = deadline
        self.window_end = window_end
        self.unreachable_after = float(unreachable_after)
        self.log_tail_bytes = int(log_tail_bytes)
        self.restarts = int(restarts)
        self.call_timeout = None if call_timeout is None else float(call_timeout)
        self.worker_host = worker_host
        low, high = _CALL_TIMEOUT_RANGE
        self.poll_timeout = self.call_timeout or min(high, max(low, self.unreachable_after))

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "endpoint": self.endpoint,
                "programs": self.programs,
                "exitcodes": self.exitcodes,
                "check_interval": self.check_interval,
                "deadline": self.deadline,
                "window_end": self.window_end,
                "unreachable_after": self.unreachable_after,
                "log_tail_bytes": self.log_tail_bytes,
                "restarts": self.restarts,
                "call_timeout": self.call_timeout,
                "worker_host": self.worker_host,
            },
        )

    # -- the loop ----------------------------------------------------------------------------
    def client_options(self) -> dict[str, float]:
        """The client's deadlines: ``call_timeout`` in all, a third of it (at most 10 s) to connect."""
        connect = min(10.0, self.poll_timeout / 3)
        return {"connect_timeout": connect, "read_timeout": self.poll_timeout - connect}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = SupervisorHook(self.endpoint)
        endpoint = await hook.aresolve()
        del hook  # nothing of it is needed while watching: thousands of triggers keep less alive
        # every trigger of the triggerer's loop watching the same supervisord shares one client; SSH
        # endpoints share the loop's pooled connection per host (which reads Airflow SSH connections)
        async with shared_client(endpoint, pool=airflow_pool(), **self.client_options()) as client:
            event = await self._watch(client, endpoint)
        yield TriggerEvent(event)

    async def _watch(self, client: SupervisorClient, endpoint: XmlRpcEndpoint) -> MonitoringEvent:
        where = endpoint.describe()
        failing_since: float | None = None
        backoff = min(1.0, self.check_interval)
        # The sensor checked once before deferring. Start at a random point of the interval so that
        # triggers created together (a triggerer restart re-creates all of them) do not poll in bursts.
        await asyncio.sleep(self._next_sleep(time.time(), random.uniform(0, self.check_interval)))
        while True:
            started = time.time()
            try:
                payload = await self.poll(client, where)
            except SupervisorAuthError as exc:  # retrying cannot fix credentials
                return self._payload(Outcome.UNREACHABLE, where=where, error=str(exc), since=started)
            except SupervisorError as exc:
                failing_since = failing_since or started
                if misplaced := await self.misplaced(endpoint):
                    return self._payload(
                        Outcome.UNREACHABLE, where=where, error=misplaced, since=failing_since, reason="other_host"
                    )
                left = failing_since + self.unreachable_after - time.time()
                if left <= 0:
                    return self._payload(Outcome.UNREACHABLE, where=where, error=str(exc), since=failing_since)
                pause = min(backoff * random.uniform(0.8, 1.2), left)  # the last retry starts in time
                self.log.warning("supervisord at %s did not answer (%s); retrying in %.1f s", where, exc, pause)
                await asyncio.sleep(pause)
                backoff = min(backoff * 2, _MAX_BACKOFF, max(self.unreachable_after / 4, 1.0))
                continue
            if payload is not None:
                return payload
            failing_since, backoff = None, min(1.0, self.check_interval)
            await asyncio.sleep(self._next_sleep(time.time()))

    async def poll(self, client: SupervisorClient, where: str) -> MonitoringEvent | None:
        """One look at the programs: the event payload if monitoring is over, else None.

        Bounded by the client's deadlines (the trigger's own client: ``call_timeout`` seconds in all; the log
        tails of failed programs get as much again). Raises ``SupervisorError`` when supervisord cannot be asked.
        """
        infos = await client.get_all_process_info()
        verdict = judge(infos, self.programs, self.exitcodes)
        if verdict.outcome is not None:
            logs = await self._log_tails(client, verdict.failed)
            return self._payload(verdict.outcome, where=where, infos=infos, failed=verdict.failed, logs=logs)
        now = time.time()
        for reason, limit in (("deadline", self.deadline), ("window", self.window_end)):
            if limit is not None and now >= limit:
                return self._payload(Outcome.DEADLINE, where=where, infos=infos, reason=reason)
        return None

    async def misplaced(self, endpoint: XmlRpcEndpoint) -> str | None:
        """Why a local-shape ``endpoint`` cannot be reached from this host at all, or None.

        The local shape needs the triggerer on the host of the worker that started supervisord: its unix
        socket is a file there, its loopback port a port there. Only called after a failed poll.
        """
        if self.worker_host is None or endpoint.ssh is not None:
            return None
        if endpoint.unix_socket is not None:
            if await asyncio.to_thread(os.path.exists, endpoint.unix_socket):
                return None  # the socket is here (a shared folder): supervisord is just not answering
            what = f"its unix socket {endpoint.unix_socket} does not exist here"
        elif _is_loopback(endpoint.host):
            what = f"its address {endpoint.host}:{endpoint.port} is this host's own loopback"
        else:
            return None
        here = await asyncio.to_thread(this_host)
        if here == self.worker_host:
            return None
        return (
            f"this triggerer runs on host {here!r}, but the job's supervisord was started on host "
            f"{self.worker_host!r} (the worker) and {what}: the local shape needs the triggerer on the worker's "
            "host. Run the triggerer there, or use the remote shape (SupervisorRemote, or a "
            f"SupervisorSSHAirflowConfiguration with ssh.host={self.worker_host!r}) so that the watch reaches "
            "supervisord over SSH from any host"
        )

    def _next_sleep(self, now: float, sleep: float | None = None) -> float:
        """Seconds until the next poll: about ``check_interval``, never past a deadline."""
        if sleep is None:
            sleep = self.check_interval * random.uniform(0.9, 1.1)
        limits = [limit - now for limit in (self.deadline, self.window_end) if limit is not None]
        return max(0.0, min([sleep, *limits]))

    async def _log_tails(self, client: SupervisorClient, names: list[str]) -> dict[str, dict[str, str]]:
        """stdout and stderr tails of ``names``; all of them within one ``call_timeout``."""
        tails: dict[str, dict[str, str]] = {name: {} for name in names}
        try:
            async with asyncio.timeout(self.poll_timeout):
                for name in names:
                    for stream, read in (
                        ("stdout", client.tail_process_stdout_log),
                        ("stderr", client.tail_process_stderr_log),
                    ):
                        try:
                            tails[name][stream] = (await read(name, 0, self.log_tail_bytes)).text
                        except SupervisorError as exc:
                            tails[name][stream] = f"<log unavailable: {exc}>"
        except TimeoutError:
            for streams in tails.values():
                for stream in ("stdout", "stderr"):
                    streams.setdefault(stream, f"<log unavailable: no answer within {self.poll_timeout:g} s>")
        return tails

    def _payload(
        self,
        outcome: Outcome,
        *,
        where: str,
        infos: list[Any] | None = None,
        failed: list[str] | None = None,
        logs: dict[str, dict[str, str]] | None = None,
        reason: str | None = None,
        error: str | None = None,
        since: float | None = None,
    ) -> MonitoringEvent:
        return MonitoringEvent(
            outcome=outcome.value,
            reason=reason,
            endpoint=where,
            programs=program_summary(infos or [], self.programs),
            failed=failed or [],
            logs=logs or {},
            error=error,
            unreachable_since=_iso(since),
            restarts=self.restarts,
            deadline=self.deadline,
            window_end=self.window_end,
        )

    async def cleanup(self) -> None:
        # Nothing to stop here: the programs keep running when the trigger moves or stops. The shared
        # client is released by run() itself, also when the triggerer cancels it.
        return None
