"""airflow-supervisor's own Hydra test configuration (``config/``, copied unchanged) through the seed's loader names.

The calls are the seed's tests' calls (``load_airflow_config("config", overrides=[...])``,
``load_airflow_ssh_config("config", "supervisor")``, supervisor-pydantic's ``load_config``): config
groups, defaults lists, ``+group=option`` overrides, ``# @package _global_`` and the seed's
``_target_`` names. Where our result differs from the seed's, the test says why.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from airflow_supervisor_async import (
    ConfigurationError,
    LegacyLayoutWarning,
    SupervisorAirflowConfiguration,
    SupervisorConfiguration,
    SupervisorSSHAirflowConfiguration,
    SupervisorSyncClient,
    load_airflow_config,
    load_airflow_ssh_config,
    load_config,
)
from airflow_supervisor_async.client import ProcessState
from tests.fixtures.jobs import short_tempdir

pytest.importorskip("hydra")

HERE = Path(__file__).resolve().parent
SEED_OVERRIDES = ["+program=[sleep,echo]", "+rpcinterface=standard", "+inet_http_server=local"]
# supervisord 4 refuses a password without a username ("incomplete authentication"); the seed's files have one
USERNAMES = ["+inet_http_server.username=airflow", "+airflow.username=airflow"]


def test_supervisor_pydantic_hydra_test_renders_what_was_composed() -> None:
    # supervisor-pydantic's test_hydra: load_config("config", overrides=[...]) from next to its config folder
    cfg = load_config("config", overrides=SEED_OVERRIDES, basepath=HERE / "supervisor_pydantic" / "test_hydra.py")
    assert type(cfg) is SupervisorConfiguration
    # The seed added a working directory, pid and log file to a plain configuration; here a plain
    # SupervisorConfiguration is the file as composed (SupervisorAirflowConfiguration adds the job's defaults).
    assert cfg.to_cfg() == (
        "[inet_http_server]\nport=localhost:8000\n\n"
        "[supervisord]\n\n"
        "[program:sleep]\ncommand=sleep 1000\n\n"
        "[program:echo]\ncommand=echo\n\n"
        "[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory=supervisor.rpcinterface:make_main_rpcinterface\n"
    )


def test_seed_overrides_test_composes_groups_from_the_calling_files_folder() -> None:
    # airflow-supervisor's test_hydra_overrides: the config folder is found next to this file, no basepath
    with pytest.raises(ConfigurationError, match=r"inet_http_server\.password: username and password must be set"):
        load_airflow_config("config", overrides=SEED_OVERRIDES)
    cfg = load_airflow_config("config", overrides=[*SEED_OVERRIDES, USERNAMES[0]])
    assert type(cfg) is SupervisorAirflowConfiguration
    assert list(cfg.program) == ["sleep", "echo"]
    assert cfg.program["echo"].command == 'echo "hello"'
    assert cfg.program["sleep"].environment == {"HOME": "/home/airflow", "USER": "airflow"}
    text = cfg.to_cfg()
    # the [inet_http_server] section as written (the seed replaced its port by the top-level default *:9001);
    # its password as the SHA-1 digest supervisord accepts, never in clear
    digest = "{SHA}a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"  # sha1("test")
    assert f"[inet_http_server]\nport=localhost:8000\nusername=airflow\npassword={digest}\n" in text
    assert "[program:sleep]\ncommand=sleep 1000\nautostart=false\n" in text
    assert 'environment=HOME="/home/airflow",USER="airflow"\n' in text
    assert f"stdout_logfile={cfg.resolved_working_dir}/echo/output.log\n" in text
    assert text.count("[rpcinterface:supervisor]") == 1


def test_seed_supervisor_yaml_with_defaults_list_and_global_package() -> None:
    # load_airflow_ssh_config("config", "supervisor"): a defaults list of config groups, `# @package _global_`
    with pytest.raises(ConfigurationError, match="password: supervisord refuses a password without a username"):
        load_airflow_ssh_config("config", "supervisor")
    with pytest.warns(LegacyLayoutWarning) as warned:
        cfg = load_airflow_ssh_config("config", "supervisor", USERNAMES)
    assert type(cfg) is SupervisorSSHAirflowConfiguration
    ours = [w for w in warned if w.category is LegacyLayoutWarning]
    messages = [str(w.message) for w in ours]
    assert any("`password` is read as `airflow.password`" in m for m in messages)
    assert any("`ssh_operator_args.cmd_timeout` is dropped" in m for m in messages)
    assert all(w.filename == __file__ for w in ours)  # pointed at the caller, not at the library
    assert cfg.ssh.host is None
    assert cfg.ssh.ssh_conn_id is None
    assert (cfg.check_interval.total_seconds(), cfg.check_timeout.total_seconds()) == (10, 60)
    assert (cfg.runtime.total_seconds() if cfg.runtime else None, cfg.maxretrigger) == (360, 5)
    assert cfg.endtime is not None
    assert (cfg.endtime.hour, cfg.endtime.minute) == (23, 0)
    assert (cfg.cleanup, cfg.stop_on_exit, cfg.restart_on_initial, cfg.restart_on_retrigger) == (
        False,
        False,
        True,
        False,
    )
    assert cfg.airflow.password is not None
    assert cfg.airflow.password.get_secret_value() == "test"
    assert list(cfg.program) == ["sleep", "echo"]
    assert "[inet_http_server]\nport=localhost:8000\n" in cfg.to_cfg()


def test_seed_airflow_config_document_gives_its_supervisor_extension() -> None:
    # config.yaml is an airflow-config document: defaults put supervisor.yaml under extensions.supervisor
    overrides = [f"+extensions.supervisor.{o.lstrip('+')}" for o in USERNAMES]
    cfg = load_airflow_ssh_config("config", "config", overrides)
    assert type(cfg) is SupervisorSSHAirflowConfiguration
    assert list(cfg.program) == ["sleep", "echo"]
    # the seed's classmethod call composes too (here refused for the lone password, with where it is)
    with pytest.raises(ConfigurationError, match=r"extensions\.supervisor: password: supervisord refuses a password"):
        SupervisorSSHAirflowConfiguration.load("config", "config")


def test_classmethod_load_with_the_seeds_arguments_composes_too(tmp_path: Path) -> None:
    (tmp_path / "config" / "program").mkdir(parents=True)
    (tmp_path / "config" / "program" / "feed.yaml").write_text("feed:\n  command: python feed.py\n")
    (tmp_path / "config" / "job.yaml").write_text(
        "# @package _global_\ndefaults:\n  - program: feed\nworking_dir: /srv/feed\n"
    )
    job = tmp_path / "config" / "job.yaml"
    by_name = SupervisorAirflowConfiguration.load(str(tmp_path / "config"), "job")
    assert by_name.program["feed"].command == "python feed.py"
    by_folder = SupervisorAirflowConfiguration.load(tmp_path / "config", ["+program=feed", "+working_dir=/x"])
    assert str(by_folder.working_dir) == "/x"
    # a file path still reads one YAML file with OmegaConf (the defaults list is then just a key)
    with pytest.raises(ConfigurationError, match="defaults: unknown key"):
        SupervisorAirflowConfiguration.load(job)


def test_absolute_config_dir_and_basepath(tmp_path: Path) -> None:
    shutil.copytree(HERE / "config", tmp_path / "conf")
    cfg = load_airflow_config(str(tmp_path / "conf"), overrides=["+program=sleep"])
    assert list(cfg.program) == ["sleep"]
    (tmp_path / "dags" / "deep").mkdir(parents=True)
    cfg = load_airflow_config("conf", overrides=["+program=echo"], basepath=tmp_path / "dags" / "deep" / "job.py")
    assert list(cfg.program) == ["echo"]  # found two folders up, as Hydra/airflow-config search


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: load_airflow_config("no_such_dir"), "config_dir: no folder 'no_such_dir' in .* or any folder above"),
        (lambda: load_airflow_config("config", "nope"), "no folder 'config' holding nope.yaml"),
        (
            lambda: load_airflow_config("config", overrides=["+program=nope"]),
            r"\(hydra\): Could not find 'program/nope'.*Available options in 'program': echo, sleep",
        ),
        (lambda: load_airflow_config("config", overrides=["+program=[sleep"]), r"\(hydra\): no viable alternative"),
        (lambda: load_airflow_config("config", "supervisor", "x=1"), "overrides: expected a list of overrides"),
        (
            lambda: load_airflow_config("config", overrides=["+program=sleep", "+program.sleep.autostrat=true"]),
            r"program\.sleep\.autostrat: unknown key 'autostrat'",
        ),
    ],
)
def test_errors_name_what_is_wrong(call: object, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        call()  # type: ignore[operator]


def test_without_hydra_the_error_names_the_extra() -> None:
    code = textwrap.dedent(
        """
        import sys
        sys.modules["hydra"] = None  # as if hydra-core were not installed
        from airflow_supervisor_async import load_airflow_config
        try:
            load_airflow_config("config", overrides=["+program=sleep"], basepath=sys.argv[1])
        except ImportError as exc:
            print(exc)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(HERE / "x.py")], capture_output=True, text=True, timeout=60, check=True
    )
    assert 'pip install "airflow-supervisor-async[hydra]"' in result.stdout, result.stderr


@pytest.mark.slow
def test_seed_configuration_runs_as_a_real_supervisord_job() -> None:
    working_dir = short_tempdir("asa-seed-")
    working_dir.rmdir()
    cfg = load_airflow_config(
        "config",
        overrides=[
            "+program=[sleep,echo]",
            "+rpcinterface=standard",  # (no fixed TCP port from inet_http_server/local.yaml on a shared machine)
            f"+working_dir={working_dir}",
            "+airflow.startsecs=0",  # echo exits at once: count it as started
        ],
    )
    try:
        cfg.write()
        assert not cfg.running()
        pid = cfg.start()
        assert cfg.running()
        assert cfg.start() == pid
        client = SupervisorSyncClient(cfg)
        assert client.getState().statename == "RUNNING"  # the seed's camelCase name works too
        assert all(status.ok for status in client.start_all_processes())
        deadline = time.monotonic() + 30
        while (states := {p.name: p.state for p in client.get_all_process_info()})["echo"] != ProcessState.EXITED:
            assert time.monotonic() < deadline, states
            time.sleep(0.1)
        assert states["sleep"] == ProcessState.RUNNING
        assert client.get_process_info("echo").exitstatus == 0
        assert (working_dir / "echo" / "output.log").read_text() == "hello\n"
        assert cfg.stop()
        assert not cfg.running()
        cfg.rmdir()  # the seed's name of remove()
        assert not working_dir.exists()
    finally:
        cfg.kill()
        shutil.rmtree(working_dir, ignore_errors=True)
