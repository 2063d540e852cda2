"""``Supervisor``: the ten steps of a supervisord job as tasks of a DAG.

::

    configure-supervisor >> start-supervisor >> start-programs >> check-programs >> evaluate-programs
    evaluate-programs >> restart-programs >> end-monitoring        (failure route)
    evaluate-programs >> end-monitoring                            (done / deadline route)
    end-monitoring >> stop-programs >> stop-supervisor >> unconfigure-supervisor   (teardown)

Task ids are ``<prefix>-<step>`` with the DAG id as the default prefix (the ids airflow-supervisor
used). The stop steps are Airflow teardown tasks of ``configure-supervisor``: they clean up after a
failure too, and the DAG run's state is the state of the job, not of its cleanup.

One DAG run drives a job at a time: ``Supervisor`` sets ``max_active_runs=1`` on the DAG (so the scheduler
queues a second run until the first is over), and configure-supervisor takes the job's lease for its run
(so a run started anyway -- ``max_active_runs`` raised again, ``airflow dags test`` beside the scheduler --
fails clearly, and its teardown leaves the other run's programs alone).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..config import ConfigurationError, SupervisorAirflowConfiguration, SupervisorSSHAirflowConfiguration
from ..config.loading import coerce_job
from ..decisions import STEPS
from ..operators.lifecycle import (
    RemoveSupervisorConfigOperator,
    StartSupervisorOperator,
    StopSupervisorOperator,
    WriteSupervisorConfigOperator,
)
from ..operators.programs import StartProgramsOperator, StopProgramsOperator
from ..operators.routing import EndMonitoringOperator, EvaluateProgramsOperator
from ..sensors.programs import RestartProgramsOperator, SupervisorProgramsSensor

if TYPE_CHECKING:
    from collections.abc import Mapping

    from airflow.sdk import DAG, BaseOperator

    from ..config import SSHConfiguration

__all__ = ("STEPS", "Supervisor", "SupervisorLocal", "SupervisorRemote")


def refuse_secrets_in_dag(cfg: SupervisorAirflowConfiguration) -> None:
    """Raise ``ConfigurationError`` (a DAG import error) for a password written in the DAG file.

    Anyone who can read DAG files could read it, and the triggerer could only get it through the database;
    credentials belong in Airflow connections, read where tasks and triggers run.
    """
    use_conn = "put the credentials in an Airflow connection and set airflow.xmlrpc_conn_id"
    found = [
        (f"{section}.password", use_conn)
        for section in ("unix_http_server", "inet_http_server", "supervisorctl")
        if (value := getattr(cfg, section)) is not None and value.password is not None
    ]
    if cfg.airflow.password is not None:
        found.insert(0, ("airflow.password", use_conn))
    ssh = getattr(cfg, "ssh", None)
    if ssh is not None and ssh.password is not None:
        found.append(("ssh.password", "use a key, or an Airflow SSH connection (ssh.ssh_conn_id)"))
    if found:
        problems = [(where, f"a password written in the DAG file is refused: {fix}") for where, fix in found]
        raise ConfigurationError(problems)


class Supervisor:
    """Add a supervisord job to ``dag``: ten tasks with stable ids, one property per step.

    Hook your own tasks in with ``>>`` on the properties, e.g. ``sup.evaluate_programs >> alert >>
    sup.restart_programs`` to alert before each restart, or ``restart_on_failure=False`` and
    ``sup.evaluate_programs >> my_recovery`` to replace the restart. The whole block chains like a
    task: ``prepare >> sup >> report``, ``[a, b] >> sup``, ``chain(prepare, sup, report)`` (between two blocks
    write ``sup_a >> sup_b``: Airflow's ``chain()`` needs a task on one side).

    :param dag: the DAG to add the tasks to.
    :param cfg: the job; a ``SupervisorSSHAirflowConfiguration`` runs it on another host over SSH. A
        mapping (as airflow-config passes it) is validated into the model like a YAML document.
    :param task_id_prefix: prefix of the task ids. Default: the DAG id.
    :param restart_on_failure: restart failed programs (and keep watching) up to ``cfg.max_restarts``.
    :param task_id: the block's name (airflow-config passes the task's key); the task ids keep the
        ``<task_id_prefix>-<step>`` form airflow-supervisor used.
    :param operator_kwargs: passed to every task (e.g. ``retries``, ``owner``).
    """

    def __init__(
        self,
        dag: DAG,
        cfg: SupervisorAirflowConfiguration | Mapping[str, Any],
        *,
        task_id_prefix: str | None = None,
        restart_on_failure: bool = True,
        task_id: str | None = None,
        **operator_kwargs: Any,
    ) -> None:
        cfg = coerce_job(cfg)
        if isinstance(cfg, SupervisorSSHAirflowConfiguration):
            try:
                cfg.ssh.require_target()
            except ValueError as exc:  # the job file may leave the host to the DAG; this DAG did not give one
                raise ConfigurationError([("ssh", str(exc))], source=f"DAG {dag.dag_id}") from None
        refuse_secrets_in_dag(cfg)
        self.dag = dag
        self.name = task_id or dag.dag_id
        self.prefix = task_id_prefix or dag.dag_id
        if cfg.job is None:  # the job is named after the DAG (and prefix): its default working_dir is its own
            cfg = cfg.with_job(dag.dag_id if self.prefix == dag.dag_id else f"{dag.dag_id}.{self.prefix}")
        self.cfg = cfg
        dag.max_active_runs = 1  # the scheduler queues a second run of the job until the first is over
        self._tasks: dict[str, BaseOperator] = {}
        common = {"dag": dag, "cfg": cfg, **operator_kwargs}
        ids = {attr: self.task_id(step) for step, attr in STEPS}

        self._add("configure_supervisor", WriteSupervisorConfigOperator(task_id=ids["configure_supervisor"], **common))
        self._add("start_supervisor", StartSupervisorOperator(task_id=ids["start_supervisor"], **common))
        self._add("start_programs", StartProgramsOperator(task_id=ids["start_programs"], **common))
        self._add("check_programs", SupervisorProgramsSensor(task_id=ids["check_programs"], **common))
        self._add(
            "evaluate_programs",
            EvaluateProgramsOperator(
                task_id=ids["evaluate_programs"],
                check_task_id=ids["check_programs"],
                end_task_id=ids["end_monitoring"],
                **common,
            ),
        )
        if restart_on_failure:
            self._add(
                "restart_programs",
                RestartProgramsOperator(task_id=ids["restart_programs"], check_task_id=ids["check_programs"], **common),
            )
        self._add(
            "end_monitoring",
            EndMonitoringOperator(
                task_id=ids["end_monitoring"],
                monitor_task_ids=[ids["restart_programs"], ids["check_programs"]],
                trigger_rule="none_failed_min_one_success",
                **common,
            ),
        )
        for attr, cls in (
            ("stop_programs", StopProgramsOperator),
            ("stop_supervisor", StopSupervisorOperator),
            ("unconfigure_supervisor", RemoveSupervisorConfigOperator),
        ):
            self._add(attr, cls(task_id=ids[attr], route_task_id=ids["end_monitoring"], **common))

        t = self._tasks
        t["configure_supervisor"] >> t["start_supervisor"] >> t["start_programs"] >> t["check_programs"]
        t["check_programs"] >> t["evaluate_programs"] >> t["end_monitoring"]
        if restart_on_failure:
            t["evaluate_programs"] >> t["restart_programs"] >> t["end_monitoring"]
        t["end_monitoring"] >> t["stop_programs"] >> t["stop_supervisor"] >> t["unconfigure_supervisor"]
        setup = t["configure_supervisor"].as_setup()
        for attr in ("stop_programs", "stop_supervisor", "unconfigure_supervisor"):
            t[attr].as_teardown(setups=setup)  # the run's state is the job's; a failed cleanup shows on its task

    def _add(self, attr: str, task: BaseOperator) -> None:
        self._tasks[attr] = task

    def task_id(self, step: str) -> str:
        """The task id of ``step`` (e.g. ``"check-programs"``)."""
        return f"{self.prefix}-{step}"

    # -- one property per step -------------------------------------------------------------
    @property
    def configure_supervisor(self) -> BaseOperator:
        """Step 1: write supervisord.conf."""
        return self._tasks["configure_supervisor"]

    @property
    def start_supervisor(self) -> BaseOperator:
        """Step 2: start supervisord."""
        return self._tasks["start_supervisor"]

    @property
    def start_programs(self) -> BaseOperator:
        """Step 3: start the programs."""
        return self._tasks["start_programs"]

    @property
    def check_programs(self) -> BaseOperator:
        """Step 4: watch the programs (deferred; no worker slot)."""
        return self._tasks["check_programs"]

    @property
    def evaluate_programs(self) -> BaseOperator:
        """Step 5: route on the outcome (failure route = its direct downstream tasks)."""
        return self._tasks["evaluate_programs"]

    @property
    def restart_programs(self) -> BaseOperator | None:
        """Step 6: restart failed programs and watch again (None with ``restart_on_failure=False``)."""
        return self._tasks.get("restart_programs")

    @property
    def end_monitoring(self) -> BaseOperator:
        """Step 7: end the watch; stop, keep running, or continue in a new DAG run."""
        return self._tasks["end_monitoring"]

    @property
    def stop_programs(self) -> BaseOperator:
        """Step 8: stop the programs (teardown)."""
        return self._tasks["stop_programs"]

    @property
    def stop_supervisor(self) -> BaseOperator:
        """Step 9: stop supervisord (teardown)."""
        return self._tasks["stop_supervisor"]

    @property
    def unconfigure_supervisor(self) -> BaseOperator:
        """Step 10: remove the config (teardown)."""
        return self._tasks["unconfigure_supervisor"]

    @property
    def tasks(self) -> list[BaseOperator]:
        """Every task of the block, in step order."""
        return list(self._tasks.values())

    # -- chain like a task: ``a >> sup >> b`` -------------------------------------------------
    @property
    def roots(self) -> list[BaseOperator]:
        """The first task of the block."""
        return [self.configure_supervisor]

    @property
    def leaves(self) -> list[BaseOperator]:
        """The last task of the block."""
        return [self.unconfigure_supervisor]

    def set_upstream(self, other: Any, edge_modifier: Any = None) -> None:
        """Run ``other`` (a task, a block, or a list of them) before the block."""
        self.configure_supervisor.set_upstream(other, edge_modifier)

    def set_downstream(self, other: Any, edge_modifier: Any = None) -> None:
        """Run ``other`` (a task, a block, or a list of them) after the block."""
        self.unconfigure_supervisor.set_downstream(other, edge_modifier)

    def update_relative(self, other: Any, upstream: bool = True, edge_modifier: Any = None) -> None:
        """Called by Airflow when a task is linked to the block; the links are on the block's tasks."""

    # Airflow's operators are the same four methods on its (private) DependencyMixin; a block is not a task,
    # so it implements them itself rather than inheriting a class from ``airflow.sdk.definitions._internal``.
    def __rshift__(self, other: Any) -> Any:
        self.set_downstream(other)
        return other

    def __lshift__(self, other: Any) -> Any:
        self.set_upstream(other)
        return other

    def __rrshift__(self, other: Any) -> Supervisor:  # ``[a, b] >> sup``
        self.set_upstream(other)
        return self

    def __rlshift__(self, other: Any) -> Supervisor:  # ``[a, b] << sup``
        self.set_downstream(other)
        return self


class SupervisorLocal(Supervisor):
    """A supervisord job on the worker's host (the configuration must not be an SSH one)."""

    def __init__(self, dag: DAG, cfg: SupervisorAirflowConfiguration | Mapping[str, Any], **kwargs: Any) -> None:
        cfg = coerce_job(cfg)
        if isinstance(cfg, SupervisorSSHAirflowConfiguration):
            raise TypeError("SupervisorLocal got an SSH configuration; use SupervisorRemote or Supervisor")
        super().__init__(dag, cfg, **kwargs)


class SupervisorRemote(Supervisor):
    """A supervisord job on another host, reached over SSH.

    :param ssh_conn_id: Airflow SSH connection to use (overrides ``cfg.ssh.ssh_conn_id``).
    :param ssh: explicit SSH options (override ``cfg.ssh``).
    """

    def __init__(
        self,
        dag: DAG,
        cfg: SupervisorAirflowConfiguration | Mapping[str, Any],
        *,
        ssh_conn_id: str | None = None,
        ssh: SSHConfiguration | None = None,
        **kwargs: Any,
    ) -> None:
        cfg = coerce_job(cfg, remote=True)
        if ssh is None and ssh_conn_id is not None:
            from ..config import SSHConfiguration

            base = cfg.ssh.model_dump() if isinstance(cfg, SupervisorSSHAirflowConfiguration) else {}
            ssh = SSHConfiguration.model_validate({**base, "ssh_conn_id": ssh_conn_id})
        if ssh is not None:
            data = {name: getattr(cfg, name) for name in type(cfg).model_fields}
            cfg = SupervisorSSHAirflowConfiguration.model_validate({**data, "ssh": ssh})
        if not isinstance(cfg, SupervisorSSHAirflowConfiguration):
            raise TypeError("SupervisorRemote needs an SSH configuration, `ssh_conn_id` or `ssh` options")
        super().__init__(dag, cfg, **kwargs)
