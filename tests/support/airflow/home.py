"""A temporary AIRFLOW_HOME on SQLite: its environment, the ``airflow`` CLI, DAG files, read-only DB queries."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import shutil
import sqlite3
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from tests.support.airflow.commands import CommandResult, airflow_executable, run_command
from tests.support.airflow.dags import DagTestResult
from tests.support.airflow.processes import kill_pids, processes_with_home
from tests.support.airflow.waiting import AirflowHarnessError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

REPO_ROOT = Path(__file__).resolve().parents[3]

# Inherited variables that would make a test's Airflow read someone else's configuration.
_ISOLATED_PREFIXES = ("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_")
_ISOLATED_NAMES = frozenset({"AIRFLOW_HOME", "AIRFLOW_CONFIG", "_AIRFLOW_DB_RESET"})


def _fernet_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")


class AirflowHome:
    """A temporary ``AIRFLOW_HOME`` on SQLite; every Airflow call is a subprocess with :meth:`env`."""

    def __init__(self, path: Path, *, settings: Mapping[str, str] | None = None) -> None:
        self.path = Path(path).resolve()
        self.dags_folder = self.path / "dags"
        self.logs_folder = self.path / "logs"
        self.db_path = self.path / "airflow.db"
        self.settings: dict[str, str] = {
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.db_path}",
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__FERNET_KEY": _fernet_key(),
            "AIRFLOW__CORE__KILLED_TASK_CLEANUP_TIME": "5",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            "AIRFLOW__API__SECRET_KEY": secrets.token_hex(32),
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.logs_folder),
            "AIRFLOW__LOGGING__COLORED_CONSOLE_LOG": "False",
        }
        self.settings.update(settings or {})
        self.connections: dict[str, str] = {}
        self.migrate_seconds: float | None = None

    # -- creation ---------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        path: Path,
        *,
        template: AirflowHome | None = None,
        settings: Mapping[str, str] | None = None,
        migrate_timeout: float = 300,
    ) -> AirflowHome:
        """Make the folders and a migrated DB: a copy of ``template``'s DB if given, else ``airflow db migrate``."""
        home = cls(path, settings=settings)
        home.dags_folder.mkdir(parents=True, exist_ok=True)
        home.logs_folder.mkdir(parents=True, exist_ok=True)
        if template is not None:
            shutil.copyfile(template.db_path, home.db_path)
        else:
            home.migrate(timeout=migrate_timeout)
        return home

    def migrate(self, *, timeout: float = 300) -> float:
        """``airflow db migrate``; returns (and records in ``migrate_seconds``) how long it took."""
        result = self.run_cli("db", "migrate", timeout=timeout)
        self.migrate_seconds = result.duration
        return result.duration

    # -- environment and CLI ----------------------------------------------------------------

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """Environment for Airflow subprocesses: os.environ minus inherited Airflow settings, plus this home's."""
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in _ISOLATED_NAMES and not key.startswith(_ISOLATED_PREFIXES)
        }
        python_path = [str(REPO_ROOT), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
        env.update(
            {
                "AIRFLOW_HOME": str(self.path),
                "PYTHONPATH": os.pathsep.join(dict.fromkeys(python_path)),
                "PYTHONUNBUFFERED": "1",
                "NO_COLOR": "1",
            }
        )
        env.update(self.settings)
        env.update({f"AIRFLOW_CONN_{conn_id.upper()}": uri for conn_id, uri in self.connections.items()})
        env.update(extra or {})
        return env

    def run_cli(
        self, *args: str, timeout: float = 120, check: bool = True, env: Mapping[str, str] | None = None
    ) -> CommandResult:
        """``airflow ARGS...`` with this home; raises :class:`AirflowHarnessError` (with the output) when
        ``check`` and it failed or timed out."""
        result = run_command([airflow_executable(), *args], env=self.env(env), timeout=timeout, cwd=self.path)
        if check and (result.timed_out or result.returncode != 0):
            raise AirflowHarnessError(f"airflow CLI failed\n{result.describe()}")
        return result

    # -- content ----------------------------------------------------------------------------

    def write_dag(self, name: str, source: str) -> Path:
        """Write ``source`` (dedented) to ``<dags>/<name>.py`` and return the path."""
        filename = name if name.endswith(".py") else f"{name}.py"
        path = self.dags_folder / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".py.tmp")
        tmp.write_text(textwrap.dedent(source).lstrip("\n"), encoding="utf-8")
        tmp.replace(path)  # a dag-processor never sees a half-written file
        return path

    def add_connection(
        self, conn_id: str, uri: str, *, store: Literal["env", "db"] = "env", timeout: float = 120
    ) -> None:
        """Make connection ``conn_id`` available.

        ``store="env"`` (default, instant) exports ``AIRFLOW_CONN_<ID>`` through :meth:`env`: seen by
        every subprocess started afterwards (a running cluster must be restarted to see it).
        ``store="db"`` runs ``airflow connections add`` (~3 s) so running processes see it too.
        """
        if store == "env":
            self.connections[conn_id] = uri
        else:
            self.run_cli("connections", "add", conn_id, "--conn-uri", uri, timeout=timeout)

    # -- metadata DB (read-only) ------------------------------------------------------------

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Read-only query of the home's SQLite DB; rows as dicts."""
        conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=15)
        try:
            conn.row_factory = sqlite3.Row
            return [dict(row) for row in conn.execute(sql, tuple(params))]
        finally:
            conn.close()

    def dag_runs(self, dag_id: str) -> list[dict[str, Any]]:
        """All runs of ``dag_id`` (oldest first): id, run_id, state, run_type, conf, start/end dates."""
        return self.query(
            "SELECT id, run_id, state, run_type, conf, start_date, end_date FROM dag_run WHERE dag_id = ? ORDER BY id",
            (dag_id,),
        )

    def dag_run_state(self, dag_id: str, run_id: str) -> str | None:
        rows = self.query("SELECT state FROM dag_run WHERE dag_id = ? AND run_id = ?", (dag_id, run_id))
        return rows[0]["state"] if rows else None

    def task_instances(self, dag_id: str | None = None, run_id: str | None = None) -> list[dict[str, Any]]:
        """Task instance rows (id, dag_id, run_id, task_id, map_index, state, try_number, start/end dates,
        pid, hostname, trigger_id, next_method), optionally filtered."""
        sql = (
            "SELECT id, dag_id, run_id, task_id, map_index, state, try_number, start_date, end_date, pid, hostname,"
            " trigger_id, next_method FROM task_instance WHERE 1 = 1"
        )
        params: list[Any] = []
        if dag_id is not None:
            sql += " AND dag_id = ?"
            params.append(dag_id)
        if run_id is not None:
            sql += " AND run_id = ?"
            params.append(run_id)
        return self.query(sql + " ORDER BY dag_id, run_id, task_id, map_index", params)

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        """``{task_id: state}`` (``task_id[i]`` for mapped task instances)."""
        states: dict[str, str | None] = {}
        for row in self.task_instances(dag_id, run_id):
            key = row["task_id"] if row["map_index"] < 0 else f"{row['task_id']}[{row['map_index']}]"
            states[key] = row["state"]
        return states

    def import_errors(self) -> list[dict[str, Any]]:
        """Rows of the ``import_error`` table (filename, stacktrace): why a DAG is missing."""
        return self.query("SELECT filename, stacktrace FROM import_error ORDER BY id")

    # -- airflow dags test ------------------------------------------------------------------

    def dags_test(
        self,
        dag_id: str,
        *,
        timeout: float,
        logical_date: str | None = None,
        conf: Mapping[str, Any] | None = None,
        extra_args: Sequence[str] = (),
    ) -> DagTestResult:
        """Run ``airflow dags test DAG_ID`` (deferred tasks and their triggers run inline) with a hard timeout.

        Never raises for a failed run: inspect (or ``assert_success()``) the returned result.
        """
        before = self._max_dag_run_id()
        argv = ["dags", "test", dag_id]
        if logical_date is not None:
            argv.append(logical_date)
        if conf is not None:
            argv += ["--conf", json.dumps(dict(conf))]
        command = self.run_cli(*argv, *extra_args, timeout=timeout, check=False)
        runs = [row for row in self._dag_runs_safe(dag_id) if row["id"] > before]
        run = runs[-1] if runs else None
        run_id = run["run_id"] if run else None
        return DagTestResult(
            dag_id=dag_id,
            command=command,
            run_id=run_id,
            dag_run_state=run["state"] if run else None,
            task_states=self.task_states(dag_id, run_id) if run_id else {},
        )

    def _max_dag_run_id(self) -> int:
        with contextlib.suppress(sqlite3.Error):
            rows = self.query("SELECT COALESCE(MAX(id), 0) AS m FROM dag_run")
            return int(rows[0]["m"])
        return 0

    def _dag_runs_safe(self, dag_id: str) -> list[dict[str, Any]]:
        try:
            return self.dag_runs(dag_id)
        except sqlite3.Error:
            return []

    # -- processes --------------------------------------------------------------------------

    def processes(self) -> list[int]:
        """PIDs of live processes started with this home (see :func:`processes_with_home`)."""
        return processes_with_home(self.path)

    def kill_processes(self, *, grace: float = 10) -> list[int]:
        """End every process that carries this home in its environment; returns the PIDs found."""
        pids = self.processes()
        if pids:
            kill_pids(pids, grace=grace)
        return pids
