"""The client through a real OpenSSH sshd on 127.0.0.1, and the SSH connection pool."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import tempfile
import time
from typing import TYPE_CHECKING

import pytest

from airflow_supervisor_async.client import (
    ProcessState,
    SSHAuthError,
    SSHConnectionPool,
    SSHHostKeyError,
    SupervisorAuthError,
    SupervisorClient,
    SupervisorConnectionError,
    SupervisorSSHError,
    get_pool,
)
from airflow_supervisor_async.config.endpoint import XmlRpcEndpoint
from airflow_supervisor_async.hooks.ssh import connect_with_airflow
from airflow_supervisor_async.ssh import connect_ssh
from tests.client.conftest import assert_stopped_supervisord_times_out, eventually, wait_for_state
from tests.fixtures.sshd import generate_key
from tests.fixtures.supervisord import STANDARD_PROGRAMS, free_port, sleepers
from tests.support.proc import descendants, established, listening_sockets_of_this_process, open_fds

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from pathlib import Path

    import asyncssh

    from airflow_supervisor_async.config.ssh import SSHConfiguration
    from tests.fixtures.sshd import RunningSshd
    from tests.fixtures.supervisord import RunningSupervisord

pytestmark = pytest.mark.ssh


@pytest.fixture
async def pool() -> AsyncIterator[SSHConnectionPool]:
    """A private pool, closed at teardown (so connection counts do not leak between tests)."""
    own = SSHConnectionPool(idle_timeout=60)
    try:
        yield own
    finally:
        await own.close()


class CountingConnect:
    """``connect_ssh`` that counts attempts."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, cfg: SSHConfiguration) -> asyncssh.SSHClientConnection:
        self.calls += 1
        return await connect_ssh(cfg)


async def test_calls_over_ssh_to_unix_socket_and_tcp(
    sshd: RunningSshd, supervisord: RunningSupervisord, pool: SSHConnectionPool
) -> None:
    cfg = sshd.ssh_config()
    listening_before = listening_sockets_of_this_process()
    async with (
        SupervisorClient.from_ssh(cfg, unix_socket=supervisord.unix_socket, pool=pool) as unix,
        SupervisorClient.from_ssh(cfg, port=supervisord.port, pool=pool) as tcp,
    ):
        assert "via ssh://" in unix.describe()
        assert (await unix.get_state()).is_running
        assert (await tcp.get_state()).is_running
        assert await unix.get_pid() == await tcp.get_pid() == supervisord.pid
        names = {info.name for info in await unix.get_all_process_info()}
        assert names == set(STANDARD_PROGRAMS)
        assert await tcp.start_process("idle") is True
        assert (await unix.get_process_info("idle")).state is ProcessState.RUNNING
        assert await unix.stop_process("idle") is True
        assert (await tcp.get_process_info("idle")).state is ProcessState.STOPPED
        results = await asyncio.gather(*(c.get_all_process_info() for c in (unix, tcp) for _ in range(10)))
        assert all(len(r) == len(STANDARD_PROGRAMS) for r in results)
        # one SSH connection for both clients; the local tunnel ends are never TCP listeners
        assert pool.live_connections() == 1
        assert [entry.connects for entry in pool.entries()] == [1]
        assert listening_sockets_of_this_process() == listening_before


async def test_calls_hold_nothing_between_them_and_leave_no_file(
    sshd: RunningSshd,
    supervisord: RunningSupervisord,
    pool: SSHConnectionPool,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each call is one SSH channel, closed with its answer: no local socket, no temp dir, no open channel."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # whatever the client would leave, it is here
    cfg = sshd.ssh_config()
    async with SupervisorClient.from_ssh(cfg, unix_socket=supervisord.unix_socket, pool=pool) as client:
        assert (await client.get_state()).is_running  # the SSH connection is open now
        fds = open_fds()
        conn = await pool.entries()[0].connection()
        assert conn.get_extra_info("send_cipher") == "aes128-gcm@openssh.com"  # the cheap cipher per packet
        for _ in range(20):
            assert len(await client.get_all_process_info()) == len(STANDARD_PROGRAMS)
        results = await asyncio.gather(*(client.get_state() for _ in range(30)))
        assert all(state.is_running for state in results)
        assert open_fds().items() <= fds.items()  # not one local descriptor more
        assert list(tmp_path.iterdir()) == []
        # every channel is closed with its answer (the close handshake with sshd takes a moment)
        await eventually(lambda: not conn._channels, within=5, what="all channels closed")
    assert list(tmp_path.iterdir()) == []


async def test_from_endpoint_with_ssh(sshd: RunningSshd, supervisord: RunningSupervisord) -> None:
    endpoint = supervisord.endpoint("unix", ssh=sshd.ssh_config())
    assert isinstance(endpoint, XmlRpcEndpoint)
    client = SupervisorClient.from_endpoint(endpoint)
    try:
        assert (await client.get_state()).is_running
        assert get_pool().live_connections() >= 1  # the default pool is the running loop's
    finally:
        await client.close()
        await get_pool().close()


async def test_default_pool_is_per_event_loop() -> None:
    mine = get_pool()
    assert get_pool() is mine

    async def other_loop() -> int:
        return id(get_pool())

    assert await asyncio.to_thread(asyncio.run, other_loop()) != id(mine)


async def test_unknown_host_key_is_refused(
    sshd: RunningSshd, supervisord: RunningSupervisord, pool: SSHConnectionPool, tmp_path: Path
) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    other_key = generate_key(tmp_path / "other_host")
    wrong = tmp_path / "wrong_known_hosts"
    wrong.write_text(f"[127.0.0.1]:{sshd.port} {other_key}\n")
    for known_hosts in (empty, wrong):
        cfg = sshd.ssh_config(known_hosts=known_hosts)
        async with SupervisorClient.from_ssh(cfg, unix_socket=supervisord.unix_socket, pool=pool) as client:
            with pytest.raises(SSHHostKeyError) as refused:
                await client.get_state()
        assert isinstance(refused.value, SupervisorAuthError)  # retrying cannot help
        assert f"ssh://{sshd.username}@127.0.0.1:{sshd.port}" in str(refused.value)
        assert "check_host_key=False" in str(refused.value)
        assert pool.live_connections() == 0
    unchecked = sshd.ssh_config(known_hosts=empty, check_host_key=False)
    async with SupervisorClient.from_ssh(unchecked, unix_socket=supervisord.unix_socket, pool=pool) as client:
        assert (await client.get_state()).is_running
    # the unchecked connection is never handed to a client that asks for the check
    async with SupervisorClient.from_ssh(sshd.ssh_config(known_hosts=empty), unix_socket="/x", pool=pool) as client:
        with pytest.raises(SSHHostKeyError):
            await client.get_state()


async def test_wrong_user_key_is_refused(sshd: RunningSshd, pool: SSHConnectionPool, tmp_path: Path) -> None:
    generate_key(tmp_path / "stranger")
    cfg = sshd.ssh_config(key_file=tmp_path / "stranger")
    async with SupervisorClient.from_ssh(cfg, unix_socket="/tmp/x.sock", pool=pool) as client:
        with pytest.raises(SSHAuthError) as denied:
            await client.get_state()
    assert isinstance(denied.value, SupervisorAuthError)
    assert "refused the login" in str(denied.value)


async def test_no_sshd_listening(sshd: RunningSshd, pool: SSHConnectionPool) -> None:
    port = free_port()
    cfg = sshd.ssh_config(port=port, connect_timeout=5)
    async with SupervisorClient.from_ssh(cfg, unix_socket="/tmp/x.sock", pool=pool) as client:
        with pytest.raises(SupervisorConnectionError) as refused:
            await client.get_state()
    assert f"cannot connect to ssh://{sshd.username}@127.0.0.1:{port}: Connection refused" in str(refused.value)


async def test_remote_socket_missing(
    sshd: RunningSshd, supervisord: RunningSupervisord, pool: SSHConnectionPool
) -> None:
    cfg = sshd.ssh_config()
    async with SupervisorClient.from_ssh(cfg, unix_socket="/nonexistent/supervisor.sock", pool=pool) as client:
        with pytest.raises(SupervisorConnectionError) as missing:
            await client.get_state()
    assert "refused to connect to /nonexistent/supervisor.sock" in str(missing.value)
    async with SupervisorClient.from_ssh(cfg, port=free_port(), pool=pool) as client:
        with pytest.raises(SupervisorConnectionError, match=r"refused to connect to 127\.0\.0\.1:"):
            await client.get_state()
    # the SSH connection itself is fine and still shared
    async with SupervisorClient.from_ssh(cfg, unix_socket=supervisord.unix_socket, pool=pool) as client:
        assert (await client.get_state()).is_running
    assert [entry.connects for entry in pool.entries()] == [1]


async def test_sshd_killed_mid_call_then_reconnects(
    sshd_function: RunningSshd, supervisord_factory: Callable[..., RunningSupervisord], pool: SSHConnectionPool
) -> None:
    stubborn = {  # ignores SIGTERM: stopProcess(wait=True) answers only after stopwaitsecs
        "command": "sh -c 'trap \"\" TERM; while true; do sleep 0.2; done'",
        "startsecs": 0,
        "stopwaitsecs": 5,
        "autostart": True,
    }
    sv = supervisord_factory({"stubborn": stubborn, **sleepers(2)}, tcp=False)
    cfg = sshd_function.ssh_config(keepalive_interval=1.0)
    async with SupervisorClient.from_ssh(cfg, unix_socket=sv.unix_socket, pool=pool) as client:
        await wait_for_state(client, "stubborn", {ProcessState.RUNNING})
        call = asyncio.create_task(client.stop_process("stubborn"))
        async with SupervisorClient.from_unix_socket(str(sv.unix_socket)) as direct:
            await wait_for_state(direct, "stubborn", {ProcessState.STOPPING})  # supervisord got the call
        assert not call.done()  # in flight: the answer waits for stopwaitsecs
        started = time.monotonic()
        sshd_function.kill()
        with pytest.raises(SupervisorConnectionError) as dropped:
            await call
        assert time.monotonic() - started < 3
        assert "supervisor.stopProcess" in str(dropped.value)
        assert f"the SSH connection ssh://{sshd_function.username}@127.0.0.1:{sshd_function.port} was lost" in str(
            dropped.value
        )

        with pytest.raises(SupervisorConnectionError, match="Connection refused"):
            await client.get_state()  # sshd still down: a clear error, no hang

        sshd_function.start()
        assert (await client.get_state()).is_running  # the pool reconnected on this call
        assert [entry.connects for entry in pool.entries()] == [2]
        assert len(await client.get_all_process_info()) == 3


async def test_pool_shares_one_connection(
    sshd: RunningSshd, supervisord: RunningSupervisord, pool: SSHConnectionPool
) -> None:
    before = established(sshd.port)
    counting = CountingConnect()
    shared = SSHConnectionPool(connect=counting)
    clients = [
        SupervisorClient.from_ssh(sshd.ssh_config(), unix_socket=supervisord.unix_socket, pool=shared)
        for _ in range(25)
    ]
    try:
        # every client's first call at once: one connect, not 25 (sshd's MaxStartups would drop a burst)
        states = await asyncio.gather(*(c.get_state() for c in clients))
        assert all(s.is_running for s in states)
        assert counting.calls == 1
        results = await asyncio.gather(*(c.get_all_process_info() for c in clients for _ in range(4)))
        assert len(results) == 100
        assert shared.live_connections() == 1
        assert established(sshd.port) == before + 1
        assert [entry.refs for entry in shared.entries()] == [25]
    finally:
        for c in clients:
            await c.close()
        await shared.close()
    await eventually(lambda: established(sshd.port) == before, what="connection closed")


async def test_idle_timeout_closes_the_connection(sshd: RunningSshd, supervisord: RunningSupervisord) -> None:
    before = established(sshd.port)
    counting = CountingConnect()
    quick = SSHConnectionPool(idle_timeout=0.5, connect=counting)
    cfg = sshd.ssh_config()
    try:
        async with SupervisorClient.from_ssh(cfg, unix_socket=supervisord.unix_socket, pool=quick) as client:
            assert (await client.get_state()).is_running
        assert quick.live_connections() == 1  # released, still open within the idle timeout
        async with SupervisorClient.from_ssh(cfg, unix_socket=supervisord.unix_socket, pool=quick) as client:
            assert (await client.get_state()).is_running
        assert counting.calls == 1  # reused
        await eventually(lambda: quick.live_connections() == 0, within=5, what="idle close")
        assert quick.entries() == []
        await eventually(lambda: established(sshd.port) == before, within=5, what="sshd side closed")
        async with SupervisorClient.from_ssh(cfg, unix_socket=supervisord.unix_socket, pool=quick) as client:
            assert (await client.get_state()).is_running  # opens a new one
        assert counting.calls == 2
    finally:
        await quick.close()


@pytest.mark.airflow
async def test_ssh_connection_from_airflow(
    sshd: RunningSshd, supervisord: RunningSupervisord, pool: SSHConnectionPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("airflow.providers.ssh.hooks.ssh")
    from airflow_supervisor_async.config.ssh import SSHConfiguration

    conn = {
        "conn_type": "ssh",
        "host": "127.0.0.1",
        "port": sshd.port,
        "login": sshd.username,
        "extra": {"key_file": str(sshd.user_key), "known_hosts": str(sshd.known_hosts)},
    }
    monkeypatch.setenv("AIRFLOW_CONN_SUPERVISOR_SSH", json.dumps(conn))
    cfg = SSHConfiguration(ssh_conn_id="supervisor_ssh", keepalive_interval=2)
    async with SupervisorClient.from_ssh(cfg, unix_socket=supervisord.unix_socket, pool=pool) as client:
        with pytest.raises(SupervisorSSHError, match="the Airflow connection must be read first"):
            await client.get_state()  # the pool's default seam reads no Airflow connection
    pool.connect = connect_with_airflow
    async with SupervisorClient.from_ssh(cfg, unix_socket=supervisord.unix_socket, pool=pool) as client:
        assert (await client.get_state()).is_running
        lease_conn = await pool.entries()[0].connection()
        assert lease_conn.get_extra_info("peername")[1] == sshd.port

    # explicit options override the connection's: a known_hosts without the key refuses the host
    monkeypatch.setenv("AIRFLOW_CONN_SUPERVISOR_SSH2", json.dumps({**conn, "extra": {"key_file": str(sshd.user_key)}}))
    empty = sshd.workdir / "empty_known_hosts"
    empty.write_text("")
    strict = SSHConfiguration(ssh_conn_id="supervisor_ssh2", known_hosts=empty)
    async with SupervisorClient.from_ssh(strict, unix_socket=supervisord.unix_socket, pool=pool) as client:
        with pytest.raises(SSHHostKeyError):
            await client.get_state()

    missing = SSHConfiguration(ssh_conn_id="no_such_connection_id", connect_timeout=10)
    async with SupervisorClient.from_ssh(missing, unix_socket=supervisord.unix_socket, pool=pool) as client:
        with pytest.raises(SupervisorSSHError, match="no_such_connection_id"):
            await client.get_state()


@pytest.mark.slow
async def test_keepalive_notices_a_silent_peer(
    sshd_function: RunningSshd, supervisord: RunningSupervisord, pool: SSHConnectionPool
) -> None:
    cfg = sshd_function.ssh_config(keepalive_interval=0.5, keepalive_count_max=2)
    assert sshd_function.process is not None
    async with SupervisorClient.from_ssh(cfg, unix_socket=supervisord.unix_socket, pool=pool) as client:
        assert (await client.get_state()).is_running
        sessions = descendants(sshd_function.process.pid)  # the per-connection sshd processes
        assert sessions
        for pid in sessions:  # the peer goes silent: no FIN, no RST, just no answers
            os.kill(pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            await eventually(lambda: pool.live_connections() == 0, within=10, what="keepalive timeout")
            assert time.monotonic() - started < 5  # ~ interval x count_max, not TCP's minutes
            assert (await client.get_state()).is_running  # reconnected through the still-running listener
            assert [entry.connects for entry in pool.entries()] == [2]
        finally:
            for pid in sessions:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


async def test_a_stopped_remote_supervisord_meets_the_total_deadline(
    sshd: RunningSshd, supervisord_factory: Callable[..., RunningSupervisord], pool: SSHConnectionPool
) -> None:
    """Over SSH too: sshd connects to the stopped supervisord's socket, no answer comes; the channel is closed."""
    sv = supervisord_factory(sleepers(1), tcp=False)
    async with SupervisorClient.from_ssh(sshd.ssh_config(), unix_socket=sv.unix_socket, pool=pool, read_timeout=1) as c:
        await assert_stopped_supervisord_times_out(c, sv.pid)
        conn = await pool.entries()[0].connection()
        await eventually(lambda: not conn._channels, what="the abandoned channel closed")
        assert [entry.connects for entry in pool.entries()] == [1]  # the SSH connection itself was fine
