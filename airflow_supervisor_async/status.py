"""What a job's programs are doing, and starting/stopping them: one code path for the CLI and the UI page.

``read_status`` turns one ``getAllProcessInfo`` answer into a row per program (``ProgramRow``);
``control_programs`` starts, stops or restarts programs and reports each step. The CLI (``status``,
``watch``, ``start``/``stop``/``restart``) and the Airflow UI page (``plugins``) both call these,
with the programs described by ``ProgramSpec`` -- built from a configuration (``program_specs``) or
from what a job registered when it started (``JobRegistration``). No Airflow import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .client.errors import (
    AbnormalTerminationFault,
    AlreadyStartedFault,
    NoFileFault,
    NotExecutableFault,
    NotRunningFault,
    SpawnErrorFault,
)
from .client.models import ProcessState

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from .client import ProcessInfo, SupervisorClient
    from .config import SupervisorAirflowConfiguration

__all__ = (
    "REGISTRATION_KEY",
    "Action",
    "JobRegistration",
    "ProgramRow",
    "ProgramSpec",
    "apply_config_changes",
    "control_programs",
    "program_rows",
    "program_specs",
    "read_status",
)

#: XCom key under which the start step (step 2) registers its job for the UI page.
REGISTRATION_KEY = "airflow_supervisor_async_job"
#: Seconds allowed on top of ``startsecs``/``stopwaitsecs`` for a start or stop call that waits.
CONTROL_MARGIN = 30.0

Action = Literal["start", "stop", "restart"]
#: states ``status`` shows as good (BACKOFF is not: the program failed and supervisord retries it)
_GOOD = frozenset({ProcessState.RUNNING, ProcessState.STARTING})


class ProgramSpec(BaseModel):
    """What status and control need to know about one program of a job's configuration."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    exitcodes: list[int] = Field(default=[0], description="Exit codes that mean the program finished well.")
    startsecs: int = Field(default=1, ge=0, description="Seconds a start waits for RUNNING (supervisord's).")
    stopwaitsecs: int = Field(default=10, ge=0, description="Seconds a stop waits before SIGKILL (supervisord's).")


class ProgramRow(BaseModel):
    """One process of a job as ``status`` shows it."""

    name: str = Field(description="Program name, or `group:process` when a program runs several processes.")
    state: str = Field(description="supervisord's state name (`RUNNING`, `EXITED`, ...), or `MISSING`.")
    pid: int | None = Field(description="PID while the process runs, else null.")
    exitstatus: int | None = Field(description="Exit status of the last exit while the state is `EXITED`, else null.")
    uptime: int | None = Field(description="Seconds since the last start while `RUNNING`, else null.")
    description: str = Field(description="supervisord's status text, e.g. `pid 12, uptime 0:01:02`.")
    ok: bool = Field(description="Running, starting, or exited with an expected exit code.")


def program_specs(cfg: SupervisorAirflowConfiguration) -> dict[str, ProgramSpec]:
    """The configuration's programs with supervisord's defaults filled in (as rendered)."""
    programs = cfg.effective_configuration().program
    return {
        name: ProgramSpec(
            exitcodes=list(program.exitcodes or [0]),
            startsecs=program.startsecs if program.startsecs is not None else 1,
            stopwaitsecs=program.stopwaitsecs if program.stopwaitsecs is not None else 10,
        )
        for name, program in programs.items()
    }


def program_rows(programs: Mapping[str, ProgramSpec], infos: Iterable[ProcessInfo]) -> list[ProgramRow]:
    """One row per process of ``programs`` (sorted), then one ``MISSING`` row per program supervisord lacks."""
    snapshot = list(infos)
    rows = []
    for info in sorted((i for i in snapshot if i.group in programs), key=lambda i: i.full_name):
        exited = info.state is ProcessState.EXITED
        exited_ok = exited and info.exitstatus in programs[info.group].exitcodes
        rows.append(
            ProgramRow(
                name=info.display_name,
                state=info.statename,
                pid=info.pid or None,
                exitstatus=info.exitstatus if exited else None,
                uptime=info.uptime if info.state is ProcessState.RUNNING else None,
                description=info.description,
                ok=info.state in _GOOD or exited_ok,
            )
        )
    seen = {i.group for i in snapshot}
    missing = "not in the running supervisord's configuration"
    return rows + [
        ProgramRow(name=name, state="MISSING", pid=None, exitstatus=None, uptime=None, description=missing, ok=False)
        for name in programs
        if name not in seen
    ]


async def read_status(client: SupervisorClient, programs: Mapping[str, ProgramSpec]) -> list[ProgramRow]:
    """The programs' rows, read live with one ``getAllProcessInfo`` call.

    Raises ``SupervisorError`` when supervisord cannot be asked.
    """
    return program_rows(programs, await client.get_all_process_info())


# -- start / stop / restart --------------------------------------------------------------------------------


async def _start(client: SupervisorClient, name: str, timeout: float) -> tuple[str, bool]:
    try:
        await client.start_process(name, wait=True, read_timeout=timeout)
    except AlreadyStartedFault:
        return "already running", True
    except (NoFileFault, NotExecutableFault, SpawnErrorFault, AbnormalTerminationFault) as exc:
        return f"failed to start ({exc.text})", False
    return "started", True


async def _stop(client: SupervisorClient, name: str, timeout: float) -> tuple[str, bool]:
    try:
        await client.stop_process(name, wait=True, read_timeout=timeout)
    except NotRunningFault:
        return "already stopped", True
    return "stopped", True


async def control_programs(
    client: SupervisorClient, action: Action, programs: Mapping[str, ProgramSpec], names: Iterable[str]
) -> tuple[list[str], bool]:
    """Stop and/or start every process of the programs ``names`` (keys of ``programs``), one after another.

    Each call waits for its outcome, bounded by the program's ``startsecs``/``stopwaitsecs`` plus
    ``CONTROL_MARGIN`` seconds. Returns report lines (``"feed: started"``; after a start, one line per
    process that did not come up, e.g. ``"boom: now FATAL ..."``) and whether everything went well.
    Raises ``SupervisorError`` when supervisord cannot be asked.
    """
    wanted = set(names)
    report: list[str] = []
    ok = True
    infos = [i for i in await client.get_all_process_info() if i.group in wanted]
    for info in sorted(infos, key=lambda i: i.full_name):
        full, spec = info.display_name, programs[info.group]
        steps: list[tuple[Any, int]] = [(_stop, spec.stopwaitsecs)] if action != "start" else []
        steps += [(_start, spec.startsecs)] if action != "stop" else []
        for step, seconds in steps:
            text, good = await step(client, full, seconds + CONTROL_MARGIN)
            report.append(f"{full}: {text}")
            ok = ok and good
    if action != "stop":  # say which programs did not come up (e.g. FATAL, BACKOFF, exited at once)
        for row in await read_status(client, programs):
            if row.name.split(":")[0] in wanted and not row.ok:
                exited = f" (exit {row.exitstatus})" if row.exitstatus is not None else ""
                report.append(f"{row.name}: now {row.state}{exited} {row.description}".rstrip())
                ok = False
    return report, ok


async def apply_config_changes(client: SupervisorClient, programs: Mapping[str, ProgramSpec]) -> list[str]:
    """Make a running supervisord use its rewritten config file, as ``supervisorctl update`` does.

    ``supervisor.reloadConfig`` re-reads the file; removed program groups are stopped and removed,
    changed ones stopped, removed and added again, new ones added (none is started here). Stops wait up
    to the program's ``stopwaitsecs`` plus ``CONTROL_MARGIN`` seconds (10 s when ``programs`` does not
    know the group any more). Returns one line per group that changed, e.g. ``"feed: added"``; none when
    nothing did. Raises ``SupervisorError`` (``CantRereadFault`` when supervisord rejects the file).
    """
    reload = await client.reload_config()

    async def stop_and_remove(name: str) -> None:
        wait = (programs[name].stopwaitsecs if name in programs else 10) + CONTROL_MARGIN
        await client.stop_process_group(name, wait=True, read_timeout=wait)
        await client.remove_process_group(name)

    report: list[str] = []
    for name in reload.removed:
        await stop_and_remove(name)
        report.append(f"{name}: removed (stopped)")
    for name in reload.changed:
        await stop_and_remove(name)
        await client.add_process_group(name)
        report.append(f"{name}: changed (stopped and reloaded)")
    for name in reload.added:
        await client.add_process_group(name)
        report.append(f"{name}: added")
    return report


# -- job registration (the UI page's list of jobs) -----------------------------------------------------------


class JobRegistration(BaseModel):
    """What the start step records (XCom ``REGISTRATION_KEY``) so the UI page can find and read a job.

    Public data only: the endpoint holds no password (credentials stay in Airflow connections).
    """

    model_config = ConfigDict(extra="ignore")

    version: int = Field(default=1, description="Format version of this record.")
    prefix: str = Field(description="The job's task id prefix (the DAG id unless `task_id_prefix` was given).")
    endpoint: dict[str, Any] = Field(description="The XML-RPC endpoint without secrets (`hooks.public_endpoint`).")
    programs: dict[str, ProgramSpec] = Field(description="The job's programs by name.")
