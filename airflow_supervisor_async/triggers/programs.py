"""``SupervisorProgramsTrigger``: watch supervisord's programs until they finish, fail or run out of time."""

from __future__ import annotations

import asyncio
import random
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from ..client import SupervisorAuthError, SupervisorError, shared_client
from ..hooks.supervisor import SupervisorHook
from .outcome import Outcome, judge, program_summary

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from ..client import SupervisorClient

__all__ = ("SupervisorProgramsTrigger",)

_MAX_BACKOFF = 30.0


def _iso(epoch: float | None) -> str | None:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds") if epoch is not None else None


class SupervisorProgramsTrigger(BaseTrigger):
    """Poll supervisord every ``check_interval`` seconds and fire one event with the outcome.

    Outcomes: ``done`` (all programs exited with an expected code), ``failed`` (one exited unexpectedly,
    went FATAL or was stopped outside Airflow; its log tails are attached), ``deadline`` (``deadline`` or
    ``window_end`` passed while programs run) and ``unreachable`` (no answer for ``unreachable_after``
    seconds, retried with jittered exponential backoff meanwhile).

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
    :param log_tail_bytes: bytes of stdout and stderr attached per failed program. Default 4096.
    :param restarts: restarts so far; echoed back in the event so it survives ``airflow dags test``.
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
        **legacy: Any,  # stored rows of older versions may carry arguments we no longer use
    ) -> None:
        super().__init__()
        self.endpoint = endpoint
        self.programs = list(programs)
        self.exitcodes = dict(exitcodes or {})
        self.check_interval = float(check_interval)
        self.deadline = deadline
        self.window_end = window_end
        self.unreachable_after = float(unreachable_after)
        self.log_tail_bytes = int(log_tail_bytes)
        self.restarts = int(restarts)

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
            },
        )

    # -- the loop ----------------------------------------------------------------------------
    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = SupervisorHook(self.endpoint)
        # every trigger of the triggerer's loop watching the same supervisord shares one client
        async with shared_client(await hook.aresolve()) as client:
            event = await self._watch(client, hook.endpoint.describe())
        yield TriggerEvent(event)

    async def _watch(self, client: SupervisorClient, where: str) -> dict[str, Any]:
        failing_since: float | None = None
        backoff = min(1.0, self.check_interval)
        # The sensor checked once before deferring. Start at a random point of the interval so that
        # triggers created together (a triggerer restart re-creates all of them) do not poll in bursts.
        await asyncio.sleep(self._next_sleep(time.time(), random.uniform(0, self.check_interval)))
        while True:
            try:
                payload = await self.poll(client, where)
            except SupervisorAuthError as exc:  # retrying cannot fix credentials
                return self._payload(Outcome.UNREACHABLE, where=where, error=str(exc), since=time.time())
            except SupervisorError as exc:
                now = time.time()
                failing_since = failing_since or now
                if now - failing_since >= self.unreachable_after:
                    return self._payload(Outcome.UNREACHABLE, where=where, error=str(exc), since=failing_since)
                self.log.warning("supervisord at %s did not answer (%s); retrying in %.1f s", where, exc, backoff)
                await asyncio.sleep(backoff * random.uniform(0.8, 1.2))
                backoff = min(backoff * 2, _MAX_BACKOFF, max(self.unreachable_after / 4, 1.0))
                continue
            if payload is not None:
                return payload
            failing_since, backoff = None, min(1.0, self.check_interval)
            await asyncio.sleep(self._next_sleep(time.time()))

    async def poll(self, client: SupervisorClient, where: str) -> dict[str, Any] | None:
        """One look at the programs: the event payload if monitoring is over, else None.

        Raises ``SupervisorError`` when supervisord cannot be asked.
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

    def _next_sleep(self, now: float, sleep: float | None = None) -> float:
        """Seconds until the next poll: about ``check_interval``, never past a deadline."""
        if sleep is None:
            sleep = self.check_interval * random.uniform(0.9, 1.1)
        limits = [limit - now for limit in (self.deadline, self.window_end) if limit is not None]
        return max(0.0, min([sleep, *limits]))

    async def _log_tails(self, client: SupervisorClient, names: list[str]) -> dict[str, dict[str, str]]:
        tails: dict[str, dict[str, str]] = {}
        for name in names:
            tails[name] = {}
            for stream, read in (
                ("stdout", client.tail_process_stdout_log),
                ("stderr", client.tail_process_stderr_log),
            ):
                try:
                    tail = await read(name, 0, self.log_tail_bytes)
                except SupervisorError as exc:
                    tails[name][stream] = f"<log unavailable: {exc}>"
                    continue
                tails[name][stream] = tail.text
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
    ) -> dict[str, Any]:
        return {
            "outcome": outcome.value,
            "reason": reason,
            "endpoint": where,
            "programs": program_summary(infos or [], self.programs),
            "failed": failed or [],
            "logs": logs or {},
            "error": error,
            "unreachable_since": _iso(since),
            "restarts": self.restarts,
            "deadline": self.deadline,
            "window_end": self.window_end,
        }

    async def cleanup(self) -> None:
        # Nothing to stop here: the programs keep running when the trigger moves or stops. The shared
        # client is released by run() itself, also when the triggerer cancels it.
        return None
