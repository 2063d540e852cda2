"""One HTTP/1.1 exchange (a POST and its answer) on a fresh connection, framed by h11.

``HTTPExchange`` is at once an ``asyncio.Protocol`` (local unix and TCP sockets) and an asyncssh
session (SSH channels): both call ``connection_made``, ``data_received``, ``eof_received`` and
``connection_lost``, and both transports have ``write``, ``close`` and ``abort``. One small class, no
stream objects, no buffering beyond the answer itself.

The request says ``Connection: close``: every call has its own connection, so nothing is held between
calls. Opening one is cheap: a unix socket connect, or one SSH channel-open round trip on the pooled
connection (see ``transports``). The answer is complete when h11 has seen the whole body; errors
carry the method and the endpoint and never a secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

import h11

from ..errors import ResponseTooLargeError, SupervisorAuthError, SupervisorConnectionError, SupervisorProtocolError

__all__ = ("HTTPExchange", "post")

_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)
_SERVER_EVENTS = 64 * 1024  # largest incomplete event (status line + headers) h11 buffers
_END = h11.EndOfMessage()


def post(target: str, headers: list[tuple[str, str]], length: int) -> h11.Request:
    """The head of a ``POST target`` with ``headers`` and a body of ``length`` bytes, asking the server to close
    the connection after its answer. Build it once per target and length: h11 validates the headers here."""
    return h11.Request(
        method="POST", target=target, headers=[*headers, ("Content-Length", str(length)), ("Connection", "close")]
    )


def _mark_retrieved(future: asyncio.Future[bytes]) -> None:
    if not future.cancelled():
        future.exception()


class HTTPExchange(asyncio.Protocol):
    """Send one request, collect its answer into ``done`` (a future of the body bytes).

    :param method: XML-RPC method, for messages.
    :param where: endpoint description (no secrets), for messages.
    :param username: basic-auth user, for the 401 message (None: no credentials were sent).
    :param max_body: largest accepted body, in bytes: a larger declared length fails at once, a longer
        stream as soon as it crosses the cap.
    :param quickack: ACK every received segment at once (``TCP_QUICKACK``; TCP only, see ``transports``).
    """

    __slots__ = (
        "_answering",
        "_chunks",
        "_eof",
        "_h11",
        "_quickack",
        "_quickack_socket",
        "_size",
        "done",
        "max_body",
        "method",
        "transport",
        "username",
        "where",
    )

    def __init__(
        self, method: str, where: str, *, max_body: int, quickack: bool = False, username: str | None = None
    ) -> None:
        self.method = method
        self.where = where
        self.max_body = max_body
        self.username = username
        self._quickack = quickack
        self._quickack_socket: Any = None  # the TCP socket to set TCP_QUICKACK on, once connected
        self._h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=_SERVER_EVENTS)
        self._chunks: list[bytes] = []
        self._size = 0
        self._eof = False
        self._answering = False  # the status line and headers arrived
        self.transport: Any = None
        self.done: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        # A caller cancelled while waiting (Ctrl-C, a deadline) no longer awaits the answer; the connection
        # closing afterwards must not log "Future exception was never retrieved". Awaiting still raises.
        self.done.add_done_callback(_mark_retrieved)

    def frame(self, request: h11.Request, body: bytes) -> bytes:
        """The bytes to send: ``request`` (see ``post``; reusable, h11 events are immutable) and ``body``."""
        framer = self._h11
        head = framer.send(request)
        framer.send(h11.Data(data=body))
        framer.send(_END)
        return (head or b"") + body

    # -- protocol / session callbacks ----------------------------------------------------------------
    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        if self._quickack and _QUICKACK is not None:
            sock = transport.get_extra_info("socket")
            if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
                self._quickack_socket = sock

    def session_started(self) -> None:  # asyncssh
        pass

    def data_received(self, data: bytes, datatype: Any = None) -> None:
        if self._quickack_socket is not None:
            with contextlib.suppress(OSError):  # the socket may be closing; ACK timing is only an optimisation
                self._quickack_socket.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
        if self.done.done():
            return
        self._h11.receive_data(data)
        self._advance()

    def eof_received(self) -> bool:
        if not self.done.done():
            self._eof = True
            self._h11.receive_data(b"")
            self._advance()
        return True  # the call closes (or aborts) the connection itself: over SSH, no EOF packet of ours first

    def connection_lost(self, exc: BaseException | None) -> None:
        if not self.done.done():
            self._fail(self._closed(f": {exc}" if exc else ""))

    def _closed(self, reason: str = "") -> SupervisorConnectionError:
        if self._answering:
            return SupervisorConnectionError(f"{self.method}: the answer from {self.where} broke off{reason}")
        return SupervisorConnectionError(f"{self.method}: {self.where} closed the connection before answering{reason}")

    def pause_writing(self) -> None:  # the request is small: nothing to pause
        pass

    def resume_writing(self) -> None:
        pass

    # -- the answer ---------------------------------------------------------------------------------
    def _fail(self, error: BaseException) -> None:
        if not self.done.done():
            self.done.set_exception(error)

    def _advance(self) -> None:
        try:
            while True:
                event = self._h11.next_event()
                kind = type(event)
                if kind is h11.Data:
                    self._body(event.data)  # type: ignore[union-attr]
                elif kind is h11.Response:
                    self._head(event)  # type: ignore[arg-type]
                elif kind is h11.EndOfMessage:
                    self.done.set_result(b"".join(self._chunks))
                    return
                elif event is h11.NEED_DATA:
                    return
                elif kind is h11.ConnectionClosed:
                    self._fail(self._closed())
                if self.done.done():
                    return
        except h11.RemoteProtocolError as exc:
            if self._eof:  # the server hung up early
                self._fail(self._closed())
            else:
                self._fail(SupervisorProtocolError(f"{self.method}: {self.where} sent an invalid HTTP answer: {exc}"))

    def _head(self, response: h11.Response) -> None:
        self._answering = True
        status = response.status_code
        if status == 401:
            who = f"user {self.username!r}" if self.username else "no credentials"
            self._fail(
                SupervisorAuthError(f"{self.method}: {self.where} refused the XML-RPC credentials ({who}): HTTP 401")
            )
        elif status != 200:
            reason = response.reason.decode("latin-1", "replace")
            self._fail(
                SupervisorProtocolError(
                    f"{self.method}: {self.where} answered HTTP {status} {reason}".rstrip(), status=status
                )
            )
        else:
            for name, value in response.headers:
                if name == b"content-length" and int(value) > self.max_body:
                    self._fail(
                        ResponseTooLargeError(
                            f"{self.method}: the answer from {self.where} is {int(value)} bytes, "
                            f"over the {self.max_body}-byte limit"
                        )
                    )

    def _body(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self.max_body:
            self._fail(
                ResponseTooLargeError(
                    f"{self.method}: the answer from {self.where} exceeds the {self.max_body}-byte limit"
                )
            )
            return
        self._chunks.append(data)
