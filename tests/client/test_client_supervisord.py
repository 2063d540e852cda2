"""Every client method against a real supervisord, over its unix socket and over TCP."""

from __future__ import annotations

import asyncio
import os
import signal
from typing import TYPE_CHECKING

import pytest
import supervisor.options

from airflow_supervisor_async.client import (
    AlreadyAddedFault,
    AlreadyStartedFault,
    BadNameFault,
    BadSignalFault,
    CantRereadFault,
    NoFileFault,
    NotRunningFault,
    ProcessState,
    ShutdownStateFault,
    SpawnErrorFault,
    StillRunningFault,
    SupervisorClient,
    SupervisorConnectionError,
    SupervisorFault,
    SupervisorStateCode,
)
from airflow_supervisor_async.client.errors import Faults
from tests.client.conftest import eventually, wait_for_state
from tests.fixtures.supervisord import STANDARD_PROGRAMS, render_conf

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.fixtures.supervisord import RunningSupervisord


async def test_supervisord_status(client: SupervisorClient, supervisord: RunningSupervisord) -> None:
    state = await client.get_state()
    assert state.statecode is SupervisorStateCode.RUNNING
    assert state.statename == "RUNNING"
    assert state.is_running
    assert await client.get_pid() == supervisord.pid
    assert await client.get_api_version() == "3.0"
    assert await client.get_supervisor_version() == supervisor.options.VERSION
    assert await client.get_identification() == "supervisor"
    methods = await client.list_methods()
    assert "supervisor.getAllProcessInfo" in methods
    assert "system.multicall" in methods


async def test_process_info(client: SupervisorClient) -> None:
    infos = await client.get_all_process_info()
    assert sorted(info.name for info in infos) == sorted(STANDARD_PROGRAMS)
    by_name = {info.name: info for info in infos}
    sleeper = await wait_for_state(client, "sleeper", {ProcessState.RUNNING})
    assert sleeper.group == "sleeper"
    assert sleeper.full_name == "sleeper:sleeper"
    assert sleeper.pid > 0
    os.kill(sleeper.pid, 0)  # a real process
    assert sleeper.is_running
    assert sleeper.start > 0
    assert sleeper.stdout_logfile.endswith(".log")
    idle = by_name["idle"]
    assert idle.state is ProcessState.STOPPED
    assert idle.pid == 0
    assert not idle.is_running
    assert idle.description == "Not started"
    config = await client.get_all_config_info()
    assert {entry["name"] for entry in config} == set(STANDARD_PROGRAMS)


async def test_start_and_stop(client: SupervisorClient) -> None:
    assert await client.start_process("idle") is True
    info = await client.get_process_info("idle:idle")
    assert info.state is ProcessState.RUNNING
    os.kill(info.pid, 0)
    with pytest.raises(AlreadyStartedFault) as started:
        await client.start_process("idle")
    assert started.value.code == Faults.ALREADY_STARTED
    assert "supervisor.startProcess" in str(started.value)
    assert await client.stop_process("idle") is True
    assert (await client.get_process_info("idle")).state is ProcessState.STOPPED
    with pytest.raises(NotRunningFault) as not_running:
        await client.stop_process("idle")
    assert not_running.value.code == Faults.NOT_RUNNING == 70
    with pytest.raises(BadNameFault) as bad:
        await client.start_process("no-such-program")
    assert bad.value.text == "BAD_NAME: no-such-program"
    assert bad.value.name == "BAD_NAME"
    with pytest.raises(BadNameFault):
        await client.get_process_info("no-such-program")


async def test_start_without_wait(client: SupervisorClient) -> None:
    assert await client.start_process("idle", wait=False) is True
    await wait_for_state(client, "idle", {ProcessState.RUNNING})
    assert await client.stop_process("idle", wait=False) is True
    await wait_for_state(client, "idle", {ProcessState.STOPPED})


async def test_spawn_error(client: SupervisorClient) -> None:
    with pytest.raises(SpawnErrorFault) as exc:
        await client.start_process("nospawn")
    assert exc.value.code == Faults.SPAWN_ERROR
    # Normally "exited too quickly" -> BACKOFF -> FATAL; when supervisord reaps the child late (a loaded
    # machine) it counts as STARTING -> RUNNING -> EXITED with "Bad exit code 127". Both are spawn errors.
    info = await wait_for_state(client, "nospawn", {ProcessState.FATAL, ProcessState.EXITED})
    assert info.spawnerr
    if info.state is ProcessState.FATAL:
        assert info.state.is_terminal_failure
    else:
        assert info.exitstatus == 127
    with pytest.raises(NoFileFault) as missing:
        await client.start_process("nofile")
    assert "can't find command '/nonexistent/program'" in missing.value.text


async def test_exit_codes(client: SupervisorClient) -> None:
    await client.start_process("exit0")
    await client.start_process("exit1")
    ok = await wait_for_state(client, "exit0", {ProcessState.EXITED})
    failed = await wait_for_state(client, "exit1", {ProcessState.EXITED})
    assert ok.exitstatus == 0
    assert failed.exitstatus == 1
    assert ok.state.is_terminal
    assert not ok.state.is_terminal_failure
    assert (await client.tail_process_stderr_log("exit1", 0, 100)).text == "failing\n"


async def test_signals(client: SupervisorClient) -> None:
    await client.start_process("idle")
    with pytest.raises(BadSignalFault):
        await client.signal_process("idle", "NOSUCHSIGNAL")
    assert await client.signal_process("idle", signal.SIGKILL) is True
    info = await wait_for_state(client, "idle", {ProcessState.EXITED})
    assert info.exitstatus == -1  # supervisord's status of a process ended by a signal (decode_wait_status)
    with pytest.raises(NotRunningFault):
        await client.signal_process("idle", "HUP")
    await client.start_process("idle")
    group = await client.signal_process_group("idle", 9)  # numbers work too
    assert [(s.full_name, s.ok) for s in group] == [("idle:idle", True)]
    await wait_for_state(client, "idle", {ProcessState.EXITED})
    everyone = await client.signal_all_processes("CONT")  # harmless to sleep
    assert "sleeper:sleeper" in {s.full_name for s in everyone if s.ok}
    assert (await client.get_process_info("sleeper")).state is ProcessState.RUNNING


async def test_stdin_and_logs(client: SupervisorClient, supervisord: RunningSupervisord) -> None:
    await client.start_process("echo")
    assert await client.send_process_stdin("echo", "hello\n") is True
    assert await client.send_process_stdin("echo", "wörld\n".encode()) is True

    async def echoed() -> bool:
        return (await client.read_process_stdout_log("echo", 0, 1000)) == "hello\nwörld\n"

    await eventually(echoed, what="echo's stdout")
    tail = await client.tail_process_stdout_log("echo", 0, 6)
    assert tail.text == "rld\n" or tail.text.endswith("rld\n")
    assert tail.offset == len("hello\nwörld\n".encode())
    assert tail.overflow is True
    follow = await client.tail_process_stdout_log("echo", tail.offset, 100)
    assert (follow.text, follow.offset, follow.overflow) == ("", tail.offset, False)

    await client.start_process("talker")

    async def talked() -> bool:
        return (await client.tail_process_stderr_log("talker", 0, 100)).text == "err-line\n"

    await eventually(talked, what="talker's stderr")
    assert await client.read_process_stderr_log("talker", 0, 4) == "err-"
    assert await client.read_process_stdout_log("talker", 0, 0) == "out-line\n"
    assert await client.clear_process_logs("talker") is True
    assert (await client.tail_process_stdout_log("talker", 0, 100)).offset == 0
    await client.stop_process("echo")
    with pytest.raises(NotRunningFault):
        await client.send_process_stdin("echo", "late\n")

    main_log = await client.read_log(0, 0)
    assert "supervisord started with pid" in main_log
    assert await client.read_log(-20, 0) == main_log[-20:]
    assert await client.clear_log() is True
    assert "supervisord started" not in await client.read_log(0, 0)


@pytest.mark.slow
async def test_groups_and_all(client: SupervisorClient) -> None:
    started = await client.start_process_group("idle")
    assert [(s.full_name, s.ok, s.description) for s in started] == [("idle:idle", True, "OK")]
    stopped = await client.stop_process_group("idle")
    assert [(s.full_name, s.ok) for s in stopped] == [("idle:idle", True)]
    with pytest.raises(BadNameFault):
        await client.start_process_group("nogroup")
    everything = await client.start_all_processes()
    by_name = {s.name: s for s in everything}
    assert by_name["idle"].ok
    assert not by_name["nospawn"].ok
    assert by_name["nospawn"].status == Faults.SPAWN_ERROR
    assert "sleeper" not in by_name  # already running: not started again
    stopped_all = await client.stop_all_processes()
    assert {s.name for s in stopped_all} >= {"idle", "sleeper", "echo"}
    assert all(s.ok for s in stopped_all)
    infos = await client.get_all_process_info()
    assert not [info.name for info in infos if info.state.is_running]


async def test_multicall(client: SupervisorClient, supervisord: RunningSupervisord) -> None:
    results = await client.multicall(
        [
            ("supervisor.getState",),
            ("supervisor.getProcessInfo", "nosuch"),
            ("supervisor.getPID",),
            ("supervisor.startProcess", "idle", True),
            ("supervisor.startProcess", "idle", True),
        ]
    )
    assert results[0] == {"statecode": 1, "statename": "RUNNING"}
    assert isinstance(results[1], BadNameFault)
    assert results[1].method == "supervisor.getProcessInfo"
    assert results[2] == supervisord.pid
    assert results[3] is True
    assert isinstance(results[4], AlreadyStartedFault)
    assert await client.multicall([]) == []


async def test_reload_add_remove_groups(client: SupervisorClient, supervisord: RunningSupervisord) -> None:
    programs = dict(STANDARD_PROGRAMS)
    programs.pop("idle")
    programs["late"] = {"command": "sleep 3600", "autostart": False, "startsecs": 0}
    programs["sleeper"] = {**programs["sleeper"], "command": "sleep 3601"}
    text = render_conf(supervisord.workdir, programs, unix_socket=supervisord.unix_socket, port=supervisord.port)
    supervisord.conf_path.write_text(text)
    result = await client.reload_config()
    assert (result.added, result.changed, result.removed) == (["late"], ["sleeper"], ["idle"])
    with pytest.raises(BadNameFault):
        await client.get_process_info("late")  # re-read, not applied yet
    assert await client.add_process_group("late") is True
    assert (await client.get_process_info("late")).state is ProcessState.STOPPED
    with pytest.raises(AlreadyAddedFault):
        await client.add_process_group("late")
    with pytest.raises(StillRunningFault):
        await client.remove_process_group("sleeper")
    assert await client.remove_process_group("idle") is True
    with pytest.raises(BadNameFault):
        await client.remove_process_group("idle")

    supervisord.conf_path.write_text(text + "\n[program:broken]\ncommand=sleep 1\nautostart=maybe\n")
    with pytest.raises(CantRereadFault) as cant:
        await client.reload_config()
    assert cant.value.code == Faults.CANT_REREAD


async def test_restart_then_shutdown(supervisord: RunningSupervisord) -> None:
    async with SupervisorClient.from_unix_socket(supervisord.unix_socket, read_timeout=10) as client:  # type: ignore[arg-type]
        assert await client.restart() is True

        async def back() -> bool:
            try:
                return (await client.get_state()).is_running
            except (SupervisorConnectionError, ShutdownStateFault):
                return False  # briefly refusing or unreachable while it restarts

        await eventually(back, what="supervisord back after restart")
        assert await client.get_pid() == supervisord.pid  # restarted in place
        assert await client.shutdown() is True
        await asyncio.to_thread(supervisord.process.wait, 15)
        with pytest.raises(SupervisorConnectionError) as gone:
            await client.get_state()
        assert str(supervisord.unix_socket) in str(gone.value)
        assert "cannot connect" in str(gone.value)


async def test_fault_subclass_for_every_code() -> None:
    from supervisor.xmlrpc import Faults as SupervisordFaults

    codes = {name: value for name, value in vars(SupervisordFaults).items() if name.isupper()}
    assert {f.name: f.value for f in Faults} == codes
    for name, code in codes.items():
        fault = SupervisorFault.from_code(code, f"{name}: x")
        assert fault.code == code
        assert fault.name == name
        if name != "SUCCESS":
            assert type(fault) is not SupervisorFault, name
            assert type(fault).fault == code
    unknown = SupervisorFault.from_code(12345, "weird")
    assert type(unknown) is SupervisorFault
    assert unknown.name == "UNKNOWN"


async def test_clear_all_process_logs(supervisord_factory: Callable[..., RunningSupervisord]) -> None:
    # supervisord clears one process per main-loop turn (up to 1 s each): keep this daemon small
    sv = supervisord_factory({"talker": STANDARD_PROGRAMS["talker"]}, tcp=False)
    async with SupervisorClient.from_unix_socket(sv.unix_socket) as client:  # type: ignore[arg-type]
        await client.start_process("talker")

        async def talked() -> bool:
            return (await client.tail_process_stdout_log("talker", 0, 100)).offset > 0

        await eventually(talked, what="talker's stdout")
        cleared = await client.clear_all_process_logs()
        assert [(s.full_name, s.ok) for s in cleared] == [("talker:talker", True)]
        assert await client.read_process_stdout_log("talker", 0, 100) == ""
