"""Failures a real supervisord cannot produce, from a real in-process HTTP server (aiohttp TestServer);
plus connection failures, authentication and cancellation against real daemons."""

from __future__ import annotations

import asyncio
import gc
import time
import xmlrpc.client
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from airflow_supervisor_async.client import (
    BadNameFault,
    ResponseTooLargeError,
    SupervisorAuthError,
    SupervisorClient,
    SupervisorConnectionError,
    SupervisorFault,
    SupervisorProtocolError,
    SupervisorTimeoutError,
)
from airflow_supervisor_async.client.xmlrpc import LARGE_BODY
from tests.client.conftest import (
    DripServer,
    assert_stopped_supervisord_times_out,
    client_for,
    eventually,
    longest_loop_step,
)
from tests.fixtures.supervisord import free_port, sleepers

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from tests.fixtures.supervisord import RunningSupervisord

STATE = xmlrpc.client.dumps(({"statecode": 1, "statename": "RUNNING"},), methodresponse=True).encode()
Handler = "Callable[[web.Request], Awaitable[web.StreamResponse]]"


class FakeSupervisord:
    """A real HTTP server on 127.0.0.1 whose answers the test chooses per request."""

    def __init__(self) -> None:
        self.handler: Callable[[web.Request], Awaitable[web.StreamResponse]] = self.ok
        self.requests = 0
        self.notes: list[str] = []
        app = web.Application()
        app.router.add_post("/RPC2", self._dispatch)
        self.server = TestServer(app, host="127.0.0.1")

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        await request.read()
        return await self.handler(request)

    @staticmethod
    async def ok(request: web.Request) -> web.StreamResponse:
        return web.Response(body=STATE, content_type="text/xml")

    @property
    def url(self) -> str:
        return str(self.server.make_url("/RPC2"))

    def client(self, **options: Any) -> SupervisorClient:
        return SupervisorClient.from_url(self.url, **options)


@pytest.fixture
async def fake() -> AsyncIterator[FakeSupervisord]:
    server = FakeSupervisord()
    await server.server.start_server()
    try:
        yield server
    finally:
        await server.server.close()


def body_answer(body: bytes, status: int = 200) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(body=body, status=status, content_type="text/xml")

    return handler


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"hello, not xml", "is not XML-RPC"),
        (b"<html><body>proxy error</body></html>", "is not XML-RPC"),
        (b"<?xml version='1.0'?><methodResponse><params><param><value><int>x", "not a valid XML-RPC"),
        (b"<?xml version='1.0'?><methodResponse><params></params></methodResponse>", "0 values instead of 1"),
        (b"<?xml version='1.0'?><methodCall><methodName>x</methodName></methodCall>", "not <methodResponse>"),
        (
            b"<?xml version='1.0'?><methodResponse><params><param><value><foo>1</foo></value></param></params>"
            b"</methodResponse>",
            "unknown XML-RPC type <foo>",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
            b"<methodResponse><params><param><value>&lol2;</value></param></params></methodResponse>",
            "declares a DOCTYPE",
        ),
    ],
)
async def test_garbage_is_a_protocol_error(fake: FakeSupervisord, body: bytes, expected: str) -> None:
    fake.handler = body_answer(body)
    async with fake.client() as client:
        with pytest.raises(SupervisorProtocolError) as exc:
            await client.get_state()
        assert expected in str(exc.value)
        assert "supervisor.getState" in str(exc.value)
        fake.handler = fake.ok
        assert (await client.get_state()).is_running  # the client is still usable


async def test_http_errors(fake: FakeSupervisord) -> None:
    async with fake.client(username="user", password="s3cret-pw") as client:
        fake.handler = body_answer(b"Internal Server Error", status=500)
        with pytest.raises(SupervisorProtocolError) as server_error:
            await client.get_state()
        assert server_error.value.status == 500
        assert "HTTP 500" in str(server_error.value)
        fake.handler = body_answer(b"Unauthorized", status=401)
        with pytest.raises(SupervisorAuthError) as denied:
            await client.get_state()
        assert "'user'" in str(denied.value)
        assert "s3cret-pw" not in str(denied.value)


async def test_fault_codes_map_to_classes(fake: FakeSupervisord) -> None:
    fake.handler = body_answer(xmlrpc.client.dumps(xmlrpc.client.Fault(10, "BAD_NAME: x")).encode())
    async with fake.client() as client:
        with pytest.raises(BadNameFault) as bad:
            await client.get_process_info("x")
        assert (bad.value.code, bad.value.text, bad.value.method) == (10, "BAD_NAME: x", "supervisor.getProcessInfo")
        fake.handler = body_answer(xmlrpc.client.dumps(xmlrpc.client.Fault(4242, "custom")).encode())
        with pytest.raises(SupervisorFault) as custom:
            await client.get_state()
        assert type(custom.value) is SupervisorFault
        assert custom.value.code == 4242


async def test_unexpected_result_shape_is_a_protocol_error(fake: FakeSupervisord) -> None:
    fake.handler = body_answer(xmlrpc.client.dumps(([{"name": "x"}],), methodresponse=True).encode())
    async with fake.client() as client:
        with pytest.raises(SupervisorProtocolError, match="getAllProcessInfo: unexpected answer"):
            await client.get_all_process_info()
        fake.handler = body_answer(xmlrpc.client.dumps(("text",), methodresponse=True).encode())
        with pytest.raises(SupervisorProtocolError, match="expected a list"):
            await client.get_all_process_info()


async def test_declared_oversize_is_refused_before_reading(fake: FakeSupervisord) -> None:
    big = b"<?xml version='1.0'?>" + b" " * (2 * 1024 * 1024)
    fake.handler = body_answer(big)
    async with fake.client(max_response_bytes=1024 * 1024) as client:
        with pytest.raises(ResponseTooLargeError, match="2097173 bytes, over the 1048576-byte limit"):
            await client.get_state()
        fake.handler = fake.ok
        assert (await client.get_state()).is_running


async def test_streamed_oversize_stops_reading(fake: FakeSupervisord) -> None:
    total = 256 * 1024 * 1024
    chunk = b"x" * (64 * 1024)
    sent: list[int] = []

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/xml"})
        response.enable_chunked_encoding()  # no Content-Length: the cap must apply while streaming
        await response.prepare(request)
        written = 0
        try:
            await response.write(b"<?xml version='1.0'?>")
            while written < total:
                await response.write(chunk)
                written += len(chunk)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            sent.append(written)
        return response

    fake.handler = endless
    async with fake.client(max_response_bytes=1024 * 1024) as client:
        start = time.monotonic()
        with pytest.raises(ResponseTooLargeError, match="exceeds the 1048576-byte limit"):
            await client.get_state()
        assert time.monotonic() - start < 5
        for _ in range(100):  # the server notices the closed connection
            if sent:
                break
            await asyncio.sleep(0.05)
        assert sent
        assert sent[0] < total // 4  # the client hung up long before the 256 MiB were sent
        fake.handler = fake.ok
        assert (await client.get_state()).is_running


async def test_hang_mid_body_times_out(fake: FakeSupervisord) -> None:
    async def half(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/xml", "Content-Length": str(len(STATE))})
        await response.prepare(request)
        await response.write(STATE[:40])
        await asyncio.sleep(30)
        return response

    fake.handler = half
    async with fake.client(read_timeout=0.3) as client:
        start = time.monotonic()
        with pytest.raises(SupervisorTimeoutError) as exc:
            await client.get_state()
        assert time.monotonic() - start < 3
        assert "within 0.3 s" in str(exc.value)
        assert isinstance(exc.value, TimeoutError)


async def test_hang_before_headers_times_out_and_per_call_override(fake: FakeSupervisord) -> None:
    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(0.6)
        return web.Response(body=STATE, content_type="text/xml")

    fake.handler = slow
    async with fake.client(read_timeout=0.2) as client:
        with pytest.raises(SupervisorTimeoutError):
            await client.get_state()
        # a longer per-call timeout lets the same slow answer through
        assert await client.call("supervisor.getState", read_timeout=5) == {"statecode": 1, "statename": "RUNNING"}


async def test_cancelled_call_releases_its_connection(fake: FakeSupervisord) -> None:
    hung = asyncio.Event()
    closed_by_client = asyncio.Event()

    async def hang(request: web.Request) -> web.StreamResponse:
        hung.set()
        try:
            await asyncio.Event().wait()  # forever: only the client hanging up ends it
        finally:  # aiohttp cancels the handler when the client disconnects
            closed_by_client.set()
        return web.Response(body=STATE, content_type="text/xml")

    fake.handler = hang
    async with fake.client() as client:
        call = asyncio.create_task(client.get_state())
        await asyncio.wait_for(hung.wait(), 5)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        await asyncio.wait_for(closed_by_client.wait(), 5)  # the connection was closed, not left half-open
        fake.handler = fake.ok
        assert (await asyncio.wait_for(client.get_state(), 5)).is_running


async def test_nothing_listening(tmp_path: Any) -> None:
    port = free_port()
    async with SupervisorClient.from_url(f"http://127.0.0.1:{port}") as client:
        with pytest.raises(SupervisorConnectionError) as refused:
            await client.get_state()
        assert f"cannot connect to http://127.0.0.1:{port}" in str(refused.value)
        assert "refused" in str(refused.value).lower()
    missing = tmp_path / "nothing.sock"
    async with SupervisorClient.from_unix_socket(missing) as client:
        with pytest.raises(SupervisorConnectionError) as no_socket:
            await client.get_state()
        assert f"cannot connect to unix://{missing}" in str(no_socket.value)
        assert "No such file" in str(no_socket.value)


async def test_supervisord_gone(supervisord_factory: Callable[..., RunningSupervisord]) -> None:
    sv = supervisord_factory(sleepers(2))
    async with client_for(sv, "tcp") as tcp, client_for(sv, "unix") as unix:
        assert (await tcp.get_state()).is_running
        assert (await unix.get_state()).is_running
        sv.kill()
        for client in (tcp, unix):
            with pytest.raises(SupervisorConnectionError) as gone:
                await client.get_all_process_info()
            assert client.describe() in str(gone.value)


@pytest.mark.parametrize("transport", ["unix", "tcp"])
async def test_credentials(supervisord_factory: Callable[..., RunningSupervisord], transport: str) -> None:
    sv = supervisord_factory(sleepers(1), username="admin", password="pa55-word")
    async with client_for(sv, transport) as good:
        assert (await good.get_state()).is_running
    async with client_for(sv, transport, password="wrong-pw") as bad:
        with pytest.raises(SupervisorAuthError) as denied:
            await bad.get_state()
        assert "'admin'" in str(denied.value)
        assert "wrong-pw" not in str(denied.value)
        assert "pa55-word" not in repr(denied.value)
    async with client_for(sv, transport, username=None, password=None) as anonymous:
        with pytest.raises(SupervisorAuthError, match="no credentials"):
            await anonymous.get_state()
    if transport == "tcp":
        async with SupervisorClient.from_url(f"http://admin:pa55-word@127.0.0.1:{sv.port}") as in_url:
            assert (await in_url.get_state()).is_running
            assert "pa55-word" not in in_url.describe()


@pytest.mark.slow
async def test_no_long_loop_steps(
    supervisord_factory: Callable[..., RunningSupervisord], fake: FakeSupervisord
) -> None:
    """No step of the event loop takes long, even for an 8 MB answer (parsed in slices, converted in a thread)."""
    big = xmlrpc.client.dumps(([{"name": f"p{i}", "text": "y" * 100} for i in range(30000)],), methodresponse=True)
    assert len(big) > 2 * LARGE_BODY  # takes the sliced parse path
    fake.handler = body_answer(big.encode())
    sv = supervisord_factory(sleepers(20))
    # A full garbage collection of this process' heap (pytest, Airflow, ...) can take ~60 ms whoever
    # allocates; freeze the existing heap so the check measures this code, not the collector.
    gc.collect()
    gc.freeze()
    try:
        async with (
            client_for(sv, "tcp") as tcp,
            client_for(sv, "unix") as unix,
            fake.client() as big_client,
            longest_loop_step() as longest,
        ):
            for _ in range(50):
                assert len(await tcp.get_all_process_info()) == 20
                assert len(await unix.get_all_process_info()) == 20
            results = await asyncio.gather(*(tcp.get_all_process_info() for _ in range(20)))
            assert all(len(r) == 20 for r in results)
            await asyncio.sleep(0)
            small = longest[0]
            huge = await big_client.call("supervisor.whatever")  # ~8 MB: parsed without blocking
            assert len(huge) == 30000
    finally:
        gc.unfreeze()
    assert small < 0.02, f"a step of a 20-program call took {small * 1000:.1f} ms of CPU"
    # The whole call takes ~1 s of CPU; its longest step measured 33-51 ms (a young-generation collection of
    # the elements parsed so far can land in one step), so 100 ms fails only if the parse stops slicing.
    assert longest[0] < 0.1, f"a step of the 8 MB call took {longest[0] * 1000:.1f} ms of CPU"


@pytest.mark.slow
async def test_a_dripping_server_meets_the_total_deadline(drip: DripServer) -> None:
    """One byte every 0.5 s resets any per-read timeout forever; the call's total deadline still ends it."""
    async with SupervisorClient.from_url(drip.url, connect_timeout=2, read_timeout=1.5) as client:
        started = time.monotonic()
        with pytest.raises(SupervisorTimeoutError) as late:
            await asyncio.wait_for(client.get_state(), 20)  # the guard only matters if the deadline is broken
        elapsed = time.monotonic() - started
        assert 1.5 <= elapsed < 4, f"gave up after {elapsed:.1f} s"
        assert f"no complete answer from {drip.url.removesuffix('/RPC2')} within 1.5 s" in str(late.value)
    await eventually(lambda: drip.hung_up == 1, what="the client hung up")


@pytest.mark.parametrize("transport", ["unix", "tcp"])
async def test_a_stopped_supervisord_meets_the_total_deadline(
    supervisord_factory: Callable[..., RunningSupervisord], transport: str
) -> None:
    sv = supervisord_factory(sleepers(1))
    async with client_for(sv, transport, read_timeout=1) as client:
        await assert_stopped_supervisord_times_out(client, sv.pid)
