"""One client per supervisord endpoint per event loop, shared by everything in the loop.

A triggerer runs every trigger in one event loop; a thousand triggers watching jobs on ten
supervisords then share ten clients instead of holding a thousand. (A client holds no connection
between calls anyway; what it keeps is its settings and, for SSH, a lease on the host's pooled
connection.) Reference-counted: the client closes when its last user leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from typing import TYPE_CHECKING, Any

from .client import SupervisorClient

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from ..config.endpoint import XmlRpcEndpoint

__all__ = ("shared_client", "shared_client_count")


class _Entry:
    __slots__ = ("client", "users")

    def __init__(self, client: SupervisorClient) -> None:
        self.client = client
        self.users = 0


_REGISTRY: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _Entry]] = weakref.WeakKeyDictionary()


def _entries() -> dict[str, _Entry]:
    loop = asyncio.get_running_loop()
    return _REGISTRY.setdefault(loop, {})


def shared_client_count() -> int:
    """Clients currently shared in the running event loop."""
    return len(_entries())


@contextlib.asynccontextmanager
async def shared_client(endpoint: XmlRpcEndpoint, **options: Any) -> AsyncIterator[SupervisorClient]:
    """``async with shared_client(endpoint) as client``: the loop's client for ``endpoint``.

    Endpoints that differ in anything (credentials included) get different clients. ``options`` are
    used by whoever creates the client first.
    """
    entries = _entries()
    key = endpoint.model_dump_json() + (endpoint.password.get_secret_value() if endpoint.password else "")
    entry = entries.get(key)
    if entry is None:
        entry = entries[key] = _Entry(SupervisorClient.from_endpoint(endpoint, **options))
    entry.users += 1
    try:
        yield entry.client
    finally:
        entry.users -= 1
        if entry.users == 0 and entries.get(key) is entry:
            del entries[key]
            await entry.client.close()
