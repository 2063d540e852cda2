"""Helpers for the client tests."""

from __future__ import annotations

import asyncio
import inspect
import time
from typing import TYPE_CHECKING, Any

import pytest

from airflow_supervisor_async.client import ProcessInfo, ProcessState, SupervisorClient

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from tests.fixtures.supervisord import RunningSupervisord


def client_for(sv: RunningSupervisord, transport: str, **options: Any) -> SupervisorClient:
    """A client for ``sv`` over ``transport``: ``unix``, ``tcp`` (auto mode) or ``tcp-close``."""
    options.setdefault("username", sv.username)
    options.setdefault("password", sv.password)
    if transport == "unix":
        return SupervisorClient.from_unix_socket(sv.unix_socket, **options)  # type: ignore[arg-type]
    mode = "close" if transport == "tcp-close" else "auto"
    return SupervisorClient.from_url(sv.url, tcp_mode=mode, **options)


async def wait_for_state(
    client: SupervisorClient, name: str, states: set[ProcessState], within: float = 10.0
) -> ProcessInfo:
    """Poll ``name`` until its state is one of ``states``; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    info = await client.get_process_info(name)
    while info.state not in states:
        if time.monotonic() > deadline:
            pytest.fail(f"{name} stayed {info.state.name}, expected one of {sorted(s.name for s in states)}")
        await asyncio.sleep(0.05)
        info = await client.get_process_info(name)
    return info


async def eventually(
    check: Callable[[], bool | Awaitable[bool]], within: float = 10.0, what: str = "condition"
) -> None:
    """Poll ``check`` (sync or async) until it returns True; fail after ``within`` seconds."""

    async def holds() -> bool:
        result = check()
        return bool(await result) if inspect.isawaitable(result) else bool(result)

    deadline = time.monotonic() + within
    while not await holds():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not reached within {within:g} s")
        await asyncio.sleep(0.05)


@pytest.fixture(params=["unix", "tcp"])
async def client(request: pytest.FixtureRequest, supervisord: RunningSupervisord) -> AsyncIterator[SupervisorClient]:
    """A client of the standard test supervisord, over its unix socket and over TCP."""
    async with client_for(supervisord, request.param) as c:
        yield c
