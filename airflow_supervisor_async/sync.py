"""Blocking calls for scripts and notebooks-without-a-loop: thin wrappers over the async code.

``SupervisorSyncClient`` makes one-off XML-RPC calls (each runs ``SupervisorClient`` in a fresh event
loop, then closes it and the loop's SSH connections). The job's own ``start()``, ``running()``,
``stop()``, ``kill()`` and ``remove()`` (``config.control``) run the host steps the same way.
Inside a running event loop use the async API (``SupervisorClient``, ``host.lifecycle``) instead.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import re
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from .client import SupervisorClient
    from .client.client import ClientOptions
    from .config import SupervisorAirflowConfiguration, XmlRpcEndpoint

__all__ = ("SupervisorSyncClient", "run_sync")

T = TypeVar("T")


def run_sync(make: Callable[[], Awaitable[T]]) -> T:
    """Run ``make()`` to completion in a fresh event loop (closing that loop's SSH connections after).

    Raises ``RuntimeError`` when called from a running event loop, where blocking would stall it.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise RuntimeError(
            "a blocking supervisor call inside a running event loop would stall it: "
            "await the async API (SupervisorClient, host.lifecycle) instead"
        )
    from .hooks.ssh import run_in_new_loop  # reads Airflow SSH connections when the job names one

    return run_in_new_loop(make)


def _snake_case(name: str) -> str:
    # supervisord's XML-RPC names (getAllProcessInfo) -> the client's (get_all_process_info)
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.split(".")[-1]).lower()


class SupervisorSyncClient:
    """Blocking one-off calls to one supervisord: every public method of ``SupervisorClient``, by the same
    name (supervisord's own camelCase names, e.g. ``getAllProcessInfo``, work too).

    Each call opens a connection (over SSH for remote jobs) and closes it again: for polling many
    times, use the async ``SupervisorClient``. Credentials of ``airflow.xmlrpc_conn_id`` are read
    from Airflow when the job names one.

    :param target: a job configuration, or an ``XmlRpcEndpoint``.
    :param options: ``SupervisorClient`` options (``connect_timeout``, ``read_timeout`` in seconds, ...).
    """

    def __init__(self, target: SupervisorAirflowConfiguration | XmlRpcEndpoint, **options: Any) -> None:
        from .config import XmlRpcEndpoint

        self.endpoint = target if isinstance(target, XmlRpcEndpoint) else target.xmlrpc_endpoint()
        self.options: ClientOptions = options  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.endpoint.describe()!r})"

    def _client(self) -> SupervisorClient:
        from .client import SupervisorClient

        endpoint = self.endpoint
        if endpoint.conn_id is not None:
            from .hooks.supervisor import SupervisorHook  # needs Airflow, only for a connection id

            endpoint = SupervisorHook(endpoint).resolve()
        return SupervisorClient.from_endpoint(endpoint, **self.options)

    def call(self, method: str, *params: Any, read_timeout: float | None = None) -> Any:
        """Call XML-RPC ``method`` (e.g. ``"supervisor.getState"``) with ``params``; return the raw result."""

        async def run() -> Any:
            async with self._client() as client:
                return await client.call(method, *params, read_timeout=read_timeout)

        return run_sync(run)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        from .client import SupervisorClient

        method_name = name if hasattr(SupervisorClient, name) else _snake_case(name)
        method = getattr(SupervisorClient, method_name, None)
        if name.startswith("_") or not inspect.iscoroutinefunction(method) or method_name in ("close", "call"):
            raise AttributeError(f"{type(self).__name__} has no method {name!r}")

        @functools.wraps(method)
        def blocking(*args: Any, **kwargs: Any) -> Any:
            async def run() -> Any:
                async with self._client() as client:
                    return await getattr(client, method_name)(*args, **kwargs)

            return run_sync(run)

        return blocking
