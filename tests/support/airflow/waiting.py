"""Waiting for a condition with a deadline, and the harness's errors."""

from __future__ import annotations

import sqlite3
import time
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable

T = TypeVar("T")


class AirflowHarnessError(RuntimeError):
    """A harness step failed; the message carries the relevant output tail."""


class WaitTimeoutError(AirflowHarnessError, TimeoutError):
    """:func:`wait_for` ran out of time."""


def wait_for(
    predicate: Callable[[], T | None],
    timeout: float,
    interval: float = 0.5,
    *,
    message: str | Callable[[], str] = "",
) -> T:
    """Call ``predicate`` until it returns something truthy and return that; bounded by ``timeout``.

    ``sqlite3.OperationalError`` (a busy metadata DB) counts as "not yet". On timeout raises
    :class:`WaitTimeoutError` whose message is ``message`` (called lazily when it is a callable,
    so diagnostics such as log tails are only gathered on failure).
    """
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except sqlite3.OperationalError as exc:
            last_error = exc
        if time.monotonic() >= deadline:
            text = message() if callable(message) else message
            detail = f" (last error: {last_error})" if last_error else ""
            raise WaitTimeoutError(f"timed out after {timeout:.0f}s{detail}: {text}")
        time.sleep(interval)
