"""The seed README's airflow-config example builds the same DAG with this package.

airflow-config itself renamed ``airflow_config.DefaultArgs`` to ``airflow_config.TaskArgs`` since the
seed README was written; with that one rename (and the import renamed) the example works unchanged.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from airflow_supervisor_async.dags.supervisor import STEPS
from tests.config.test_loading import SEED_AIRFLOW_CONFIG

pytest.importorskip("airflow_config")
pytestmark = pytest.mark.airflow

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


def test_seed_airflow_config_example_builds_the_same_dag(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    yaml = SEED_AIRFLOW_CONFIG.replace("airflow_supervisor.", "airflow_supervisor_async.").replace(
        "airflow_config.DefaultArgs", "airflow_config.TaskArgs"
    )
    (tmp_path / "config" / "airflow.yaml").write_text(yaml)
    (tmp_path / "dag.py").write_text(SEED_DAG)
    result = subprocess.run(
        [sys.executable, str(tmp_path / "dag.py")], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    tasks = next(line for line in result.stdout.splitlines() if line.startswith("TASKS"))
    assert tasks == f"TASKS {sorted(f'test-supervisor-{step}' for step, _ in STEPS)}"
    assert "CFG SupervisorAirflowConfiguration bash -c 'sleep 14400; exit 1'" in result.stdout
