"""airflow-config DAGs written for airflow-supervisor work here: the seed README's example, the seed's own
test configuration (``tests/migration/config``), and a job declared as a task in YAML, run with ``airflow dags test``.

airflow-config itself renamed ``airflow_config.DefaultArgs`` to ``airflow_config.TaskArgs`` since the seed
README was written; apart from that rename, the seed's YAML is used as written (``airflow_supervisor.X``
targets resolve to this package).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("airflow")  # dags/ needs Airflow: skipped (and deselected) where it is not installed
pytest.importorskip("airflow_config")

from tests.config.test_loading import SEED_AIRFLOW_CONFIG
from tests.dags.test_structure import TEN_STEPS
from tests.fixtures.jobs import short_tempdir
from tests.support.airflow import wait_for

pytestmark = pytest.mark.airflow

SEED_CONFIG = Path(__file__).resolve().parents[1] / "migration" / "config"

SEED_DAG = """
from datetime import timedelta
from airflow_config import load_config, DAG
from airflow_supervisor_async import Supervisor

config = load_config(config_name="airflow")

with DAG(
    dag_id="test-supervisor",
    schedule=timedelta(days=1),
    config=config,
) as dag:
    supervisor = Supervisor(dag=dag, cfg=config.extensions["supervisor"])

print("TASKS", sorted(dag.task_dict))
print("CFG", type(config.extensions["supervisor"]).__name__, config.extensions["supervisor"].program["test"].command)
"""


def run_python(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=180, check=False)


@pytest.mark.slow
def test_seed_airflow_config_example_builds_the_same_dag(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    yaml = SEED_AIRFLOW_CONFIG.replace("airflow_config.DefaultArgs", "airflow_config.TaskArgs")
    assert "_target_: airflow_supervisor.SupervisorAirflowConfiguration" in yaml  # the seed's names, unchanged
    (tmp_path / "config" / "airflow.yaml").write_text(yaml)
    (tmp_path / "dag.py").write_text(SEED_DAG)
    result = run_python(tmp_path / "dag.py")
    assert result.returncode == 0, result.stderr[-3000:]
    tasks = next(line for line in result.stdout.splitlines() if line.startswith("TASKS"))
    assert tasks == f"TASKS {sorted(f'test-supervisor-{step}' for step, _ in TEN_STEPS)}"
    assert "CFG SupervisorAirflowConfiguration bash -c 'sleep 14400; exit 1'" in result.stdout
    # said, not silent (Airflow routes warnings to its log on stdout)
    assert "rename `airflow_supervisor.X` to `airflow_supervisor_async.X`" in result.stdout + result.stderr


SEED_TASKS_DAG = """
import sys, traceback
from airflow_config import load_config
import airflow_supervisor_async  # as the DAG file of the seed imported airflow_supervisor

TASK = "dags.example_dag.tasks.run"
CASES = {  # one Airflow import for the three cases
    "host": [f"~{TASK}.cfg.password", f"+{TASK}.host=feed-1.internal"],
    "no-host": [f"~{TASK}.cfg.password"],
    "password": [f"+{TASK}.cfg.username=airflow"],
}
for case, overrides in CASES.items():
    print("CASE", case)
    try:
        model = load_config("config", "config_tasks", overrides).dags["example_dag"]
        try:
            code = model.render()
        except Exception as exc:
            print("RENDER REFUSED", exc)
            continue
        rendered = {}
        exec(code, rendered)  # the DAG file airflow-config renders
        dag = rendered["dag"]
        print("TASKS", len(dag.task_dict), len(model.instantiate().task_dict))
        print("PRE", sorted(dag.task_dict["pre"].downstream_task_ids))
        print("POST", sorted(dag.task_dict["post"].upstream_task_ids))
        print("HOST", rendered["run"].cfg.ssh.host)
    except Exception as exc:
        print("FAILED", exc)
print("CASE end")
"""


@pytest.fixture(scope="module")
def seed_tasks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The output of each case of the seed's config_tasks.yaml (see ``SEED_TASKS_DAG``), and the warnings."""
    folder = tmp_path_factory.mktemp("seed-tasks")
    shutil.copytree(SEED_CONFIG, folder / "config")
    (folder / "dag.py").write_text(SEED_TASKS_DAG)
    result = run_python(folder / "dag.py")
    assert result.returncode == 0, result.stderr[-3000:]
    cases = dict(re.findall(r"^CASE (\S+)\n(.*?)(?=^CASE )", result.stdout, flags=re.MULTILINE | re.DOTALL))
    cases["log"] = result.stdout + result.stderr
    return cases


@pytest.mark.slow
def test_seed_config_tasks_yaml_declares_the_job_as_a_task(seed_tasks: dict[str, str]) -> None:
    # The seed's config_tasks.yaml: a SupervisorSSHTask between two BashTasks. It has a lone password (which
    # supervisord 4 refuses) and no host: here the host comes from the task's `host` argument, as in the seed.
    out = seed_tasks["host"]
    assert "TASKS 12 12" in out, out  # pre, the ten steps, post: rendered and instantiated
    assert "PRE ['example_dag-configure-supervisor']" in out
    assert "POST ['example_dag-unconfigure-supervisor']" in out
    assert "HOST feed-1.internal" in out
    assert "`ssh_operator_args.cmd_timeout` is dropped" in seed_tasks["log"]


@pytest.mark.slow
def test_seed_config_tasks_without_a_host_fails_when_the_dag_is_built(seed_tasks: dict[str, str]) -> None:
    out = seed_tasks["no-host"]
    assert "FAILED invalid supervisor configuration in DAG example_dag" in out, out
    assert "ssh: no host to run supervisord on" in out


@pytest.mark.slow
def test_a_password_is_never_rendered_into_dag_code(seed_tasks: dict[str, str]) -> None:
    out = seed_tasks["password"]
    assert "RENDER REFUSED" in out, out
    assert "cfg.airflow.password: a password is never rendered into DAG code" in out
    assert "'test'" not in out


YAML_JOB = """\
# @package _global_
_target_: airflow_config.Configuration
default_args:
  _target_: airflow_config.TaskArgs
  retries: 0
dags:
  yaml_job:
    schedule: null
    start_date: "2024-01-01"
    catchup: false
    tasks:
      prepare:
        _target_: airflow_pydantic.BashTask
        bash_command: echo preparing
      job:
        _target_: airflow_supervisor.SupervisorTask
        dependencies: [prepare]
        cfg:
          _target_: airflow_supervisor.SupervisorAirflowConfiguration
          working_dir: {working_dir}
          check_interval: 1
          program:
            report:
              _target_: airflow_supervisor.ProgramConfiguration
              # runs until the test releases it, once the watch is deferred (no race with a busy machine)
              command: bash -c 'while [ ! -e release ]; do sleep 0.2; done; echo report-done'
"""

YAML_JOB_DAG = """
from pathlib import Path
from airflow_config import load_config
import airflow_supervisor_async

config = load_config("config", "job", basepath=str(Path(__file__).resolve()))
dag = config.dags["yaml_job"].instantiate()
"""


@pytest.mark.slow
@pytest.mark.airflow31
def test_a_job_declared_in_airflow_config_yaml_runs(airflow_home: Any) -> None:
    working_dir = short_tempdir("asa-yaml-")
    working_dir.rmdir()
    config = airflow_home.dags_folder / "config"
    config.mkdir(parents=True)
    (config / "job.yaml").write_text(YAML_JOB.format(working_dir=working_dir))
    airflow_home.write_dag("yaml_job", textwrap.dedent(YAML_JOB_DAG))
    released = threading.Event()

    def release_when_deferred() -> None:
        def deferred() -> bool:
            rows = airflow_home.task_instances("yaml_job")
            # `dags test` runs the trigger inline with the task back in "queued", its trigger_id still set
            return any(r["task_id"] == "yaml_job-check-programs" and r["trigger_id"] is not None for r in rows)

        try:
            wait_for(deferred, timeout=240, interval=0.3)
        finally:  # release the program in any case, so that a failed test does not leave it waiting
            (working_dir / "report").mkdir(parents=True, exist_ok=True)
            (working_dir / "report" / "release").touch()
            released.set()

    releaser = threading.Thread(target=release_when_deferred, daemon=True)
    releaser.start()
    try:
        result = airflow_home.dags_test("yaml_job", timeout=300)
        result.assert_success(
            {
                "prepare": "success",
                "yaml_job-check-programs": "success",
                "yaml_job-unconfigure-supervisor": "success",
            }
        )
        assert "yaml_job-check-programs" in result.deferred_task_ids
        assert released.is_set()
        assert not working_dir.exists()
    finally:
        releaser.join(timeout=300)
        pid_file = working_dir / "supervisord.pid"
        if pid_file.exists():
            subprocess.run(["kill", "-KILL", pid_file.read_text().strip()], check=False)
        shutil.rmtree(working_dir, ignore_errors=True)


def test_supervisor_ssh_takes_the_seeds_host_and_port_arguments() -> None:
    from airflow.sdk import DAG
    from airflow_pydantic import Host, Port

    from airflow_supervisor_async import ConfigurationError, SupervisorSSH

    cfg = {"program": {"feed": {"command": "python feed.py"}}, "ssh": {"known_hosts": "/etc/ssh/known"}}
    host = Host(name="feed-1", username="svc", key_file="/keys/feed", pool={"pool": "feed-hosts"})
    with DAG(dag_id="ssh_args", schedule=None) as dag:
        block = SupervisorSSH(dag=dag, cfg=cfg, host=host, port=Port(name="rpc", host=host, port=9001))
    ssh = block.cfg.ssh
    assert (ssh.host, ssh.username, str(ssh.key_file), str(ssh.known_hosts)) == (
        "feed-1",
        "svc",
        "/keys/feed",
        "/etc/ssh/known",
    )
    assert block.cfg.pool == "feed-hosts"
    assert block.cfg.airflow.port == "*:9001"  # supervisord listens as with airflow-supervisor
    assert block.cfg.xmlrpc_endpoint().unix_socket is not None  # Airflow still goes through SSH
    with DAG(dag_id="ssh_password", schedule=None) as dag, pytest.raises(ConfigurationError, match=r"host\.password"):
        SupervisorSSH(dag=dag, cfg=cfg, host=Host(name="feed-1", password="hunter2"))
