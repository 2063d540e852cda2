"""The DAG the factories build: stable task ids, wiring, teardown semantics, hooks, chaining."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

pytest.importorskip("airflow")

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, chain

from airflow_supervisor_async import (
    AirflowConfiguration,
    ProgramConfiguration,
    Supervisor,
    SupervisorAirflowConfiguration,
    SupervisorLocal,
    SupervisorRemote,
    SupervisorSSHAirflowConfiguration,
)

pytestmark = [pytest.mark.airflow, pytest.mark.airflow31]

# The ten task id suffixes and attributes users' DAGs and the seed README depend on, written out here (not
# taken from the code under test): renaming one is a breaking change this test must catch.
TEN_STEPS = (
    ("configure-supervisor", "configure_supervisor"),
    ("start-supervisor", "start_supervisor"),
    ("start-programs", "start_programs"),
    ("check-programs", "check_programs"),
    ("evaluate-programs", "evaluate_programs"),
    ("restart-programs", "restart_programs"),
    ("end-monitoring", "end_monitoring"),
    ("stop-programs", "stop_programs"),
    ("stop-supervisor", "stop_supervisor"),
    ("unconfigure-supervisor", "unconfigure_supervisor"),
)


def seed_cfg() -> SupervisorAirflowConfiguration:
    return SupervisorAirflowConfiguration(
        airflow=AirflowConfiguration(port="*:9091"),
        working_dir="/data/airflow/supervisor",
        config_path="/data/airflow/supervisor/supervisor.conf",
        program={"test": ProgramConfiguration(command="bash -c 'sleep 14400; exit 1'")},
    )


def seed_dag() -> DAG:
    return DAG(dag_id="test-supervisor", schedule=timedelta(days=1), start_date=datetime(2024, 1, 1), catchup=False)


def test_seed_readme_dag_has_the_ten_steps_with_stable_ids() -> None:
    with seed_dag() as dag:
        sup = Supervisor(dag=dag, cfg=seed_cfg())
    assert [t.task_id for t in sup.tasks] == [f"test-supervisor-{step}" for step, _ in TEN_STEPS]
    assert set(dag.task_dict) == {f"test-supervisor-{step}" for step, _ in TEN_STEPS}
    for step, attr in TEN_STEPS:
        assert getattr(sup, attr).task_id == sup.task_id(step)


def test_wiring_and_teardowns() -> None:
    with seed_dag() as dag:
        sup = Supervisor(dag=dag, cfg=seed_cfg())
    down = {t.task_id: set(t.downstream_task_ids) for t in sup.tasks}
    assert down[sup.check_programs.task_id] == {sup.evaluate_programs.task_id}
    assert down[sup.evaluate_programs.task_id] == {sup.restart_programs.task_id, sup.end_monitoring.task_id}
    assert down[sup.restart_programs.task_id] == {sup.end_monitoring.task_id}
    assert down[sup.end_monitoring.task_id] == {sup.stop_programs.task_id}
    assert sup.configure_supervisor.is_setup
    assert all(t.is_teardown for t in (sup.stop_programs, sup.stop_supervisor, sup.unconfigure_supervisor))


def test_without_restart_the_failure_route_is_yours() -> None:
    with seed_dag() as dag:
        sup = Supervisor(dag=dag, cfg=seed_cfg(), restart_on_failure=False)
        recovery = EmptyOperator(task_id="my-recovery")
        sup.evaluate_programs >> recovery
    assert sup.restart_programs is None
    assert "test-supervisor-restart-programs" not in dag.task_dict
    assert set(sup.evaluate_programs.downstream_task_ids) == {"my-recovery", sup.end_monitoring.task_id}


def test_block_chains_like_a_task() -> None:
    with seed_dag() as dag:
        before, after = EmptyOperator(task_id="before"), EmptyOperator(task_id="after")
        sup = Supervisor(dag=dag, cfg=seed_cfg(), task_id_prefix="job")
        before >> sup >> after
    assert sup.configure_supervisor.upstream_task_ids == {"before"}
    assert after.upstream_task_ids == {"job-unconfigure-supervisor"}


def test_block_chains_with_lists_other_blocks_and_chain() -> None:
    """``>>``/``<<`` with lists, between two blocks, and inside Airflow's ``chain()`` next to a task."""
    with seed_dag() as dag:
        b1, b2, a1, a2 = (EmptyOperator(task_id=name) for name in ("b1", "b2", "a1", "a2"))
        first = Supervisor(dag=dag, cfg=seed_cfg(), task_id_prefix="first")
        second = Supervisor(dag=dag, cfg=seed_cfg(), task_id_prefix="second")
        assert ([b1, b2] >> first) is first
        assert (first >> [a1, a2]) == [a1, a2]
        first >> second
        chain(a1, second, a2)
        [b2] << second
    assert first.configure_supervisor.upstream_task_ids == {"b1", "b2"}
    assert first.unconfigure_supervisor.downstream_task_ids == {"a1", "a2", "second-configure-supervisor"}
    assert second.configure_supervisor.upstream_task_ids == {"first-unconfigure-supervisor", "a1"}
    assert second.unconfigure_supervisor.downstream_task_ids == {"a2", "b2"}


def test_pool_and_operator_kwargs_reach_every_task() -> None:
    cfg = seed_cfg().model_copy(update={"pool": "supervisor"})
    with seed_dag() as dag:
        sup = Supervisor(dag=dag, cfg=cfg, retries=2)
    assert {t.pool for t in sup.tasks} == {"supervisor"}
    assert {t.retries for t in sup.tasks} == {2}


def test_local_and_remote_factories_check_the_shape() -> None:
    remote_cfg = SupervisorSSHAirflowConfiguration(ssh={"host": "feed-host"}, program={"a": {"command": "x"}})
    with seed_dag() as dag:
        with pytest.raises(TypeError, match="SupervisorRemote"):
            SupervisorLocal(dag=dag, cfg=remote_cfg)
        with pytest.raises(TypeError, match="SSH configuration"):
            SupervisorRemote(dag=dag, cfg=seed_cfg())
        sup = SupervisorRemote(dag=dag, cfg=seed_cfg(), ssh_conn_id="feed_host", task_id_prefix="remote")
    assert isinstance(sup.cfg, SupervisorSSHAirflowConfiguration)
    assert sup.cfg.ssh.ssh_conn_id == "feed_host"
    assert sup.cfg.program["test"].command == "bash -c 'sleep 14400; exit 1'"


def test_configuration_is_not_a_template_field() -> None:
    """Template fields are rendered into the UI: the configuration (and its secrets) must not be one."""
    with seed_dag() as dag:
        sup = Supervisor(dag=dag, cfg=seed_cfg())
    for task in sup.tasks:
        assert "cfg" not in task.template_fields


@pytest.mark.slow
def test_parsing_dag_files_does_not_import_ssh() -> None:
    """The dag-processor parses every DAG file again and again: building the tasks, local or remote, must not
    import asyncssh (~0.9 s per parse measured); it is imported where a step or a trigger connects."""
    import subprocess
    import sys
    from pathlib import Path

    examples = Path(__file__).resolve().parents[2] / "examples"
    paths = [str(examples / name) for name in ("local_dag.py", "remote_dag.py", "yaml_dag.py")]
    code = f"import runpy, sys\nfor p in {paths!r}: runpy.run_path(p)\n"
    code += "print(sorted(m for m in sys.modules if 'ssh' in m))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    loaded = out.stdout.strip().splitlines()[-1]
    assert "'asyncssh'" not in loaded, loaded
    assert "airflow_supervisor_async.ssh" in loaded  # the check sees our modules (the test can fail)
