"""Loading from YAML: OmegaConf interpolation and overrides, airflow-config `_target_` files, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_supervisor_async import (
    ConfigurationError,
    SupervisorAirflowConfiguration,
    SupervisorSSHAirflowConfiguration,
)

SEED_AIRFLOW_CONFIG = """\
# @package _global_
_target_: airflow_config.Configuration
default_args:
  _target_: airflow_config.DefaultArgs
  retries: 0
  depends_on_past: false
all_dags:
  _target_: airflow_config.DagArgs
  start_date: "2024-01-01"
  catchup: false
extensions:
  supervisor:
    _target_: airflow_supervisor.SupervisorAirflowConfiguration
    airflow:
      _target_: airflow_supervisor.AirflowConfiguration
      port: "*:9091"
    working_dir: "/data/airflow/supervisor"
    config_path: "/data/airflow/supervisor/supervisor.conf"
    program:
      test:
        _target_: airflow_supervisor.ProgramConfiguration
        command: "bash -c 'sleep 14400; exit 1'"
"""


def test_seed_airflow_config_yaml_loads() -> None:
    cfg = SupervisorAirflowConfiguration.load(SEED_AIRFLOW_CONFIG)
    assert cfg.program["test"].command == "bash -c 'sleep 14400; exit 1'"
    assert cfg.airflow.port == "*:9091"
    assert cfg.resolved_config_path == Path("/data/airflow/supervisor/supervisor.conf")


def test_same_yaml_with_renamed_import_loads() -> None:
    cfg = SupervisorAirflowConfiguration.load(
        SEED_AIRFLOW_CONFIG.replace("airflow_supervisor.", "airflow_supervisor_async.")
    )
    assert list(cfg.program) == ["test"]


def test_file_with_interpolation_and_overrides(tmp_path: Path) -> None:
    path = tmp_path / "job.yaml"
    path.write_text(
        "working_dir: /srv/jobs/feed\n"
        "check_interval: 10\n"
        "program:\n"
        "  feed:\n"
        "    command: python feed.py --out ${working_dir}/data\n"
    )
    cfg = SupervisorAirflowConfiguration.load(path, overrides=["program.extra.command=sleep 5"])
    assert cfg.program["feed"].command == "python feed.py --out /srv/jobs/feed/data"
    assert cfg.program["extra"].command == "sleep 5"
    assert cfg.check_interval.total_seconds() == 10
    cfg = SupervisorAirflowConfiguration.load(str(path), overrides=["program.feed.command=python other.py"])
    assert cfg.program["feed"].command == "python other.py"


def test_unknown_top_level_key_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "job.yaml"
    path.write_text("root: /srv\nworking_dir: ${root}/feed\nprogram: {feed: {command: x}}\n")
    with pytest.raises(ConfigurationError, match="root: unknown key 'root'"):
        SupervisorAirflowConfiguration.load(path)


def test_ssh_target_selects_the_remote_class() -> None:
    text = (
        "_target_: airflow_supervisor_async.SupervisorSSHAirflowConfiguration\n"
        "ssh: {host: example.internal, username: svc}\n"
        "program: {feed: {command: python feed.py}}\n"
    )
    cfg = SupervisorAirflowConfiguration.load(text)
    assert isinstance(cfg, SupervisorSSHAirflowConfiguration)
    assert cfg.ssh.host == "example.internal"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("program: {feed: {command: x, autostrat: true}}", "program.feed.autostrat: unknown key 'autostrat'"),
        ("program: {feed: {command: x, numprocs: many}}", "program.feed.numprocs"),
        ("program: {feed: {command: x}}\ncheck_interval: soon", "check_interval"),
        ("program: [a, b]", "program"),
        ("_target_: somewhere.Else\nprogram: {feed: {command: x}}", "unsupported target 'somewhere.Else'"),
        ("program: {feed: {command: x}}\nairflow: {password: hunter2, port: 'x'}", "airflow.port"),
        ("- just\n- a list", "expected a mapping"),
        ("program:\n  feed:\n    command: ${missing}\n", "(yaml)"),
        ("program: {feed: {command: ${missing}}}", "(yaml)"),
        ("program:\n  a: [1\n  b: 2\n", "(yaml): line 3, column 4: "),  # the wording is the YAML parser's
        ("program: {feed: {command: x}}\nairflow: {exitcodes: [0, 300]}", "airflow.exitcodes[1]: "),
        ("program: {feed: {command: x}}\ncheck_interval: -3", "greater than 0 seconds (got -3 s)"),
    ],
)
def test_errors_name_the_path(text: str, expected: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        SupervisorAirflowConfiguration.load(text)
    assert expected in str(info.value)
    assert "hunter2" not in str(info.value)


def test_a_remote_job_is_recognised_by_its_ssh_key_without_target() -> None:
    cfg = SupervisorAirflowConfiguration.load("ssh: {host: example.internal}\nprogram: {feed: {command: x}}\n")
    assert isinstance(cfg, SupervisorSSHAirflowConfiguration)
    assert cfg.ssh.host == "example.internal"


@pytest.mark.parametrize(
    ("override", "field", "value"),
    [
        ("airflow.port=*:9091", ("airflow", "port"), "*:9091"),  # not YAML (an alias): taken as a string
        ("program.feed.command=@daily job", ("program", "feed", "command"), "@daily job"),
        ("check_interval=7", ("check_interval",), 7),  # YAML values keep their type
    ],
)
def test_set_values_that_are_not_yaml_are_strings(override: str, field: tuple[str, ...], value: object) -> None:
    cfg = SupervisorAirflowConfiguration.load(
        "program: {feed: {command: x}}\nairflow: {username: u, password: p}\n", [override]
    )
    found: object = cfg
    for part in field:
        found = found[part] if isinstance(found, dict) else getattr(found, part)
    if field == ("check_interval",):
        found = found.total_seconds()  # type: ignore[attr-defined]
    assert found == value


def test_an_override_without_equals_is_named() -> None:
    with pytest.raises(ConfigurationError, match=r"\(overrides\): override 'check_interval' is not KEY=VALUE"):
        SupervisorAirflowConfiguration.load("program: {feed: {command: x}}", ["check_interval"])


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no such configuration file"):
        SupervisorAirflowConfiguration.load(tmp_path / "nope.yaml")
