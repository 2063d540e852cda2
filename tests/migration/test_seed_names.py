"""Every public name of airflow-supervisor 1.11 and supervisor-pydantic 1.5 exists here, or says what replaces it;
``airflow_supervisor.X`` / ``supervisor_pydantic.X`` import (for airflow-config and Hydra's ``instantiate``) only
when the real packages are absent."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import airflow_supervisor_async as asa
from airflow_supervisor_async.config.legacy import GONE, SEED_NAMES

pytest.importorskip("airflow_pydantic")

# the __all__ of airflow_supervisor 1.11.3 and supervisor_pydantic 1.5.2 (and their submodules' star exports)
SEED_PUBLIC_NAMES = [
    "ProcessInfo",
    "ProcessLogChunk",
    "ProcessState",
    "SupervisorMethodResult",
    "SupervisorRemoteXMLRPCClient",
    "SupervisorState",
    "HostPort",
    "LogLevel",
    "Octal",
    "OctalUmask",
    "Signal",
    "SupervisorLocation",
    "UnixUserName",
    "UnixUserNameOrGroup",
    "SupervisorConvenienceConfiguration",
    "load_convenience_config",
    "EventListenerConfiguration",
    "FcgiProgramConfiguration",
    "GroupConfiguration",
    "IncludeConfiguration",
    "InetHttpServerConfiguration",
    "ProgramConfiguration",
    "RpcInterfaceConfiguration",
    "SupervisorConfiguration",
    "load_config",
    "SupervisorctlConfiguration",
    "SupervisordConfiguration",
    "UnixHttpServerConfiguration",
    "check_programs",
    "kill_supervisor",
    "main",
    "remove_supervisor_config",
    "restart_programs",
    "start_programs",
    "start_supervisor",
    "stop_programs",
    "stop_supervisor",
    "write_supervisor_config",
    "SupervisorTaskStep",
    "Supervisor",
    "check_supervisor_health",
    "SupervisorSSH",
    "SupervisorAirflowConfiguration",
    "load_airflow_config",
    "SupervisorOperator",
    "SupervisorOperatorArgs",
    "SupervisorTask",
    "SupervisorTaskArgs",
    "SSHOperatorArgs",
    "SupervisorSSHAirflowConfiguration",
    "load_airflow_ssh_config",
    "SupervisorSSHOperator",
    "SupervisorSSHOperatorArgs",
    "SupervisorSSHTask",
    "SupervisorSSHTaskArgs",
]


# our subpackages built on Airflow's classes: their names resolve only with the airflow extra installed
AIRFLOW_SUBPACKAGES = ("dags", "hooks", "operators", "sensors", "triggers")


def _seed_name_param(name: str) -> object:
    needs_airflow = name in SEED_NAMES and SEED_NAMES[name][0].split(".")[0] in AIRFLOW_SUBPACKAGES
    return pytest.param(name, marks=[pytest.mark.airflow] if needs_airflow else [])


@pytest.mark.parametrize("name", [_seed_name_param(name) for name in SEED_PUBLIC_NAMES])
def test_every_seed_name_resolves_or_says_what_replaces_it(name: str) -> None:
    if name in GONE:
        with pytest.raises(AttributeError, match=f"{name} \\(airflow-supervisor\\) has no equivalent here: use "):
            getattr(asa, name)
        return
    assert name in SEED_NAMES
    module, ours = SEED_NAMES[name]
    assert getattr(asa, name) is getattr(__import__(f"airflow_supervisor_async.{module}", fromlist=["_"]), ours)


def test_seed_names_that_differ_here_point_at_the_equivalent() -> None:
    assert asa.SupervisorConvenienceConfiguration is asa.SupervisorAirflowConfiguration
    assert asa.SupervisorState.RUNNING == 1  # the seed's enum of supervisord states
    assert asa.SupervisorMethodResult.SUCCESS == 80
    assert asa.SupervisorRemoteXMLRPCClient is asa.SupervisorSyncClient
    with pytest.raises(AttributeError, match="has no attribute 'nothing_like_this'"):
        _ = asa.nothing_like_this


@pytest.mark.airflow
def test_the_seed_operator_name_is_our_task() -> None:
    assert asa.SupervisorOperator is asa.SupervisorTask


def test_to_cfg_on_every_model() -> None:
    cfg = asa.SupervisorAirflowConfiguration(program={"feed": asa.ProgramConfiguration(command="python feed.py")})
    assert cfg.to_cfg() == cfg.to_conf()
    assert asa.ProgramConfiguration(command="x").to_cfg("feed") == "[program:feed]\ncommand=x\n"
    assert (
        asa.FcgiProgramConfiguration(command="x", socket="tcp://127.0.0.1:1")
        .to_cfg("f")
        .startswith("[fcgi-program:f]\n")
    )
    assert asa.SupervisordConfiguration(nodaemon=False).to_cfg() == "[supervisord]\nnodaemon=false\n"
    plain = asa.SupervisorConfiguration(program={"a": {"command": "x"}})
    assert plain.to_cfg() == plain.to_conf()


def _python(code: str, *, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": str(pythonpath)} if pythonpath else {}
    return subprocess.run(
        [sys.executable, "-W", "default", "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**__import__("os").environ, **env},
    )


def test_seed_module_names_import_as_aliases_for_hydra_instantiate() -> None:
    result = _python(
        """
        import airflow_supervisor_async
        from airflow_supervisor import SupervisorAirflowConfiguration, ProgramConfiguration
        from supervisor_pydantic.config.program import ProgramConfiguration as Deep
        from hydra.utils import instantiate
        assert SupervisorAirflowConfiguration is airflow_supervisor_async.SupervisorAirflowConfiguration
        assert Deep is ProgramConfiguration is airflow_supervisor_async.ProgramConfiguration
        made = instantiate({"_target_": "airflow_supervisor.ProgramConfiguration", "command": "sleep 1"})
        assert isinstance(made, airflow_supervisor_async.ProgramConfiguration)
        try:
            from airflow_supervisor import check_supervisor_health
        except ImportError as exc:
            print("GONE:", exc)
        print("OK")
        """
    )
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout
    assert "GONE: cannot import name 'check_supervisor_health'" in result.stdout
    assert "`airflow_supervisor` is airflow-supervisor's module name and is not installed" in result.stderr
    assert "rename `airflow_supervisor.X` to `airflow_supervisor_async.X`" in result.stderr


def test_an_installed_seed_is_never_shadowed(tmp_path: Path) -> None:
    (tmp_path / "airflow_supervisor").mkdir()
    (tmp_path / "airflow_supervisor" / "__init__.py").write_text("REAL = True\n")
    result = _python(
        "import airflow_supervisor_async, airflow_supervisor; print(getattr(airflow_supervisor, 'REAL', False))",
        pythonpath=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"
    assert "LegacyLayoutWarning" not in result.stderr
