"""The client must not fall into the ~40 ms Nagle/delayed-ACK stall on any transport.

With the stall, every sequential ``getAllProcessInfo`` takes >= 40 ms; without it, ~1-3 ms here.
The check is on the fastest of 100 calls: the stall delays every call, while a busy machine (other
processes on the same cores) only delays some of them, so the minimum tells the two apart.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest

from airflow_supervisor_async.client import SSHConnectionPool, SupervisorClient
from tests.client.conftest import client_for
from tests.fixtures.supervisord import sleepers
from tests.support.proc import established

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.fixtures.sshd import RunningSshd
    from tests.fixtures.supervisord import RunningSupervisord

CALLS = 100
FASTEST_LIMIT = 0.025  # the stall costs >= 40 ms on every call


async def fastest_call(client: SupervisorClient, calls: int = CALLS) -> float:
    await client.get_all_process_info()  # connect first
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        infos = await client.get_all_process_info()
        times.append(time.perf_counter() - start)
        assert len(infos) == 20
    return min(times)


@pytest.fixture
def twenty(supervisord_factory: Callable[..., RunningSupervisord]) -> RunningSupervisord:
    return supervisord_factory(sleepers(20))


@pytest.mark.parametrize("transport", ["unix", "tcp"])
async def test_no_delayed_ack_stall_locally(twenty: RunningSupervisord, transport: str) -> None:
    async with client_for(twenty, transport) as client:
        fastest = await fastest_call(client)
        assert fastest < FASTEST_LIMIT, f"{transport}: the fastest call took {fastest * 1000:.1f} ms"
        if transport == "tcp":  # a connection per call, closed with the answer: none stays open
            assert established(int(twenty.port or 0)) == 0


@pytest.mark.ssh
@pytest.mark.parametrize("remote", ["unix", "tcp"])
async def test_no_delayed_ack_stall_over_ssh(sshd: RunningSshd, twenty: RunningSupervisord, remote: str) -> None:
    pool = SSHConnectionPool()
    target = {"unix_socket": twenty.unix_socket} if remote == "unix" else {"port": twenty.port}
    try:
        async with SupervisorClient.from_ssh(sshd.ssh_config(), pool=pool, **target) as client:  # type: ignore[arg-type]
            fastest = await fastest_call(client)
            assert fastest < FASTEST_LIMIT, f"ssh to remote {remote}: the fastest call took {fastest * 1000:.1f} ms"
    finally:
        await pool.close()
