"""Helpers for the client tests."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import signal
import time
from typing import TYPE_CHECKING, Any

import pytest

from airflow_supervisor_async.client import ProcessInfo, ProcessState, SupervisorClient, SupervisorTimeoutError

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from tests.fixtures.supervisord import RunningSupervisord


def client_for(sv: RunningSupervisord, transport: str, **options: Any) -> SupervisorClient:
    """A client for ``sv`` over ``transport``: ``unix`` or ``tcp``."""
    options.setdefault("username", sv.username)
    options.setdefault("password", sv.password)
    if transport == "unix":
        return SupervisorClient.from_unix_socket(sv.unix_socket, **options)  # type: ignore[arg-type]
    return SupervisorClient.from_url(sv.url, **options)


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


@contextlib.asynccontextmanager
async def longest_loop_step() -> AsyncIterator[list[float]]:
    """Measure, while inside, the longest step of the event loop (one callback or one task step) in CPU
    seconds of the loop's thread: what the code costs, whatever else the machine runs meanwhile (asyncio's
    debug mode measures wall time, which a busy machine inflates). Yields ``[seconds]``; a step counts once
    it ended, so the block's own last step is ended before leaving."""
    longest = [0.0]
    run = asyncio.events.Handle._run

    def timed(handle: asyncio.events.Handle) -> None:
        started = time.thread_time()
        try:
            run(handle)
        finally:
            longest[0] = max(longest[0], time.thread_time() - started)

    asyncio.events.Handle._run = timed  # type: ignore[method-assign]
    try:
        yield longest
        await asyncio.sleep(0)  # end the caller's current step, so that it is measured too
    finally:
        asyncio.events.Handle._run = run  # type: ignore[method-assign]


async def assert_stopped_supervisord_times_out(client: SupervisorClient, pid: int) -> None:
    """SIGSTOP supervisord ``pid`` (it accepts connections -- the kernel does -- and never answers): the
    call fails at the client's total deadline (``read_timeout`` 1 s), and works again after SIGCONT."""
    assert client.read_timeout == 1
    assert (await client.get_state()).is_running
    os.kill(pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        with pytest.raises(SupervisorTimeoutError, match=r"no complete answer from .* within 1 s"):
            await asyncio.wait_for(client.get_all_process_info(), 20)  # the guard only matters if it is broken
        assert time.monotonic() - started < 3
    finally:
        os.kill(pid, signal.SIGCONT)
    assert (await client.get_state()).is_running  # nothing stale was kept


class DripServer:
    """A real TCP server on 127.0.0.1 that answers every request one byte every ``pause`` seconds, forever:
    a valid HTTP status line and headers, then a body that never ends. Only a total deadline stops a call.
    """

    def __init__(self, pause: float = 0.5) -> None:
        self.pause = pause
        self.connections = 0
        self.hung_up = 0  # connections the client closed
        self._server: asyncio.Server | None = None
        self._writers: dict[asyncio.StreamWriter, asyncio.Task[Any]] = {}
        self.port = 0

    async def _drip(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self._writers[writer] = task
        answer = b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 1000000\r\n\r\n<?xml version='1.0'?>"
        try:
            await reader.read(65536)
            i = 0
            while True:
                writer.write(answer[i : i + 1] if i < len(answer) else b" ")
                await writer.drain()
                i += 1
                await asyncio.sleep(self.pause)
        except (ConnectionError, OSError):
            self.hung_up += 1
        finally:
            writer.close()
            self._writers.pop(writer, None)

    async def start(self) -> DripServer:
        self._server = await asyncio.start_server(self._drip, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/RPC2"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        handlers = list(self._writers.values())
        for writer in list(self._writers):  # connections still dripping: their handlers end on the error
            writer.transport.abort()
        await asyncio.wait_for(asyncio.gather(*handlers, return_exceptions=True), 10)


@pytest.fixture
async def drip() -> AsyncIterator[DripServer]:
    server = await DripServer().start()
    try:
        yield server
    finally:
        await server.close()
