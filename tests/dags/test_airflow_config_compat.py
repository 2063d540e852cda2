"""airflow-config DAGs written for airflow-supervisor work here: the seed README's example, the seed's own
test configuration (``tests/migration/config``), and a job declared as a task in YAML, run with ``airflow dags test``.

airflow-config itself renamed ``airflow_config.DefaultArgs`` to ``airflow_config.TaskArgs`` since the seed
README was written; apart from that rename, the seed's YAML is used as written (``airflow_supervisor.X``
targets resolve to this package).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest

from airflow_supervisor_async.dags.supervisor import STEPS
from tests.config.test_loading import SEED_AIRFLOW_CONFIG
from tests.fixtures.airflow_harness import wait_for
from tests.fixtures.jobs import short_tempdir

pytest.importorskip("airflow_config")
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


def test_seed_airflow_config_example_builds_the_same_dag(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    yaml = SEED_AIRFLOW_CONFIG.replace("airflow_config.DefaultArgs", "airflow_config.TaskArgs")
    assert "_target_: airflow_supervisor.SupervisorAirflowConfiguration" in yaml  # the seed's names, unchanged
    (tmp_path / "config" / "airflow.yaml").write_text(yaml)
    (tmp_path / "dag.py").write_text(SEED_DAG)
    result = run_python(tmp_path / "dag.py")
    assert result.returncode == 0, result.stderr[-3000:]
    tasks = next(line for line in result.stdout.splitlines() if line.startswith("TASKS"))
    assert tasks == f"TASKS {sorted(f'test-supervisor-{step}' for step, _ in STEPS)}"
    assert "CFG SupervisorAirflowConfiguration bash -c 'sleep 14400; exit 1'" in result.stdout
    # said, not silent (Airflow routes warnings to its log on stdout)
    assert "rename `airflow_supervisor.X` to `airflow_supervisor_async.X`" in result.stdout + result.stderr


SEED_TASKS_DAG = """
import sys
from airflow_config import load_config
import airflow_supervisor_async  # as the DAG file of the seed imported airflow_supervisor

cfg = load_config("config", "config_tasks", sys.argv[1:])
model = cfg.dags["example_dag"]
try:
    code = model.render()
except Exception as exc:
    print("RENDER REFUSED", exc)
else:
    rendered = {}
    exec(code, rendered)  # the DAG file airflow-config renders
    dag = rendered["dag"]
    print("TASKS", len(dag.task_dict), len(model.instantiate().task_dict))
    print("PRE", sorted(dag.task_dict["pre"].downstream_task_ids))
    print("POST", sorted(dag.task_dict["post"].upstream_task_ids))
    print("HOST", rendered["run"].cfg.ssh.host)
"""


def _seed_tasks(tmp_path: Path, *overrides: str) -> subprocess.CompletedProcess[str]:
    shutil.copytree(SEED_CONFIG, tmp_path / "config")
    (tmp_path / "dag.py").write_text(SEED_TASKS_DAG)
    return subprocess.run(
        [sys.executable, str(tmp_path / "dag.py"), *overrides], capture_output=True, text=True, timeout=180, check=False
    )


def test_seed_config_tasks_yaml_declares_the_job_as_a_task(tmp_path: Path) -> None:
    # The seed's config_tasks.yaml: a SupervisorSSHTask between two BashTasks. It has a lone password (which
    # supervisord 4 refuses) and no host: here the host comes from the task's `host` argument, as in the seed.
    result = _seed_tasks(
        tmp_path, "~dags.example_dag.tasks.run.cfg.password", "+dags.example_dag.tasks.run.host=feed-1.internal"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "TASKS 12 12" in result.stdout  # pre, the ten steps, post: rendered and instantiated
    assert "PRE ['example_dag-configure-supervisor']" in result.stdout
    assert "POST ['example_dag-unconfigure-supervisor']" in result.stdout
    assert "HOST feed-1.internal" in result.stdout
    assert "`ssh_operator_args.cmd_timeout` is dropped" in result.stdout + result.stderr


def test_seed_config_tasks_without_a_host_fails_when_the_dag_is_built(tmp_path: Path) -> None:
    result = _seed_tasks(tmp_path, "~dags.example_dag.tasks.run.cfg.password")
    assert result.returncode != 0
    assert "invalid supervisor configuration in DAG example_dag" in result.stderr
    assert "ssh: no host to run supervisord on" in result.stderr, result.stderr[-2000:]


def test_a_password_is_never_rendered_into_dag_code(tmp_path: Path) -> None:
    result = _seed_tasks(tmp_path, "+dags.example_dag.tasks.run.cfg.username=airflow")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "RENDER REFUSED" in result.stdout
    assert "cfg.airflow.password: a password is never rendered into DAG code" in result.stdout
    assert "'test'" not in result.stdout


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
