"""docker-compose.yml, checked structurally (no Docker engine here): services, builds, mounts, connection."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_DAG_IDS = {
    "example-supervisor-local",
    "example-supervisor-remote",
    "example-supervisor-always-on",
    "example-supervisor-yaml",
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_services_and_builds(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in (
        "postgres",
        "airflow-apiserver",
        "airflow-scheduler",
        "airflow-dag-processor",
        "airflow-triggerer",
        "supervisor-host",
        "airflow-init",
        "ssh-keys",
    ):
        assert name in services, name
    for name, service in services.items():
        assert "image" in service or "build" in service, name
        if "build" in service:
            assert (ROOT / service["build"]["context"] / service["build"]["dockerfile"]).is_file(), name
    assert services["airflow-triggerer"]["command"] == "triggerer"
    assert (ROOT / "docker" / "supervisor-host-entrypoint.sh").stat().st_mode & 0o111


def test_only_loopback_ports_are_published(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), (name, port)


def test_mounted_example_dags_exist(compose: dict[str, Any]) -> None:
    mounts = compose["services"]["airflow-scheduler"]["volumes"]
    dags = next(m for m in mounts if m.endswith(":/opt/airflow/dags:ro"))
    folder = ROOT / dags.split(":")[0]
    assert {p.name for p in folder.glob("*_dag.py")} == {
        "local_dag.py",
        "remote_dag.py",
        "always_on_dag.py",
        "yaml_dag.py",
    }


@pytest.mark.airflow
def test_connection_uri_parses_as_an_airflow_ssh_connection(compose: dict[str, Any]) -> None:
    from airflow.models.connection import Connection

    uri = compose["services"]["airflow-scheduler"]["environment"]["AIRFLOW_CONN_SUPERVISOR_HOST"]
    conn = Connection(conn_id="supervisor_host", uri=uri)
    assert (conn.conn_type, conn.host, conn.port, conn.login) == ("ssh", "supervisor-host", 22, "supervisor")
    assert conn.extra_dejson["key_file"] == "/home/airflow/.ssh/id_ed25519"
    assert conn.password is None  # key authentication only


@pytest.mark.airflow
@pytest.mark.slow
def test_example_dags_import_and_bag_without_errors(airflow_home: Any) -> None:
    for path in (ROOT / "examples").rglob("*"):
        if path.is_file():
            target = airflow_home.dags_folder / path.relative_to(ROOT / "examples")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    airflow_home.run_cli("dags", "reserialize", timeout=180)  # parse the files into the metadata DB
    errors = airflow_home.run_cli("dags", "list-import-errors", "--output", "json", check=False)
    assert errors.returncode == 0, errors.describe()
    reported = [line for line in errors.output.splitlines() if line.startswith("[")]
    assert reported, errors.describe()
    assert json.loads(reported[-1]) == [], errors.describe()
    listed = airflow_home.run_cli("dags", "list", "--output", "json")
    assert set(listed.output.replace('"', " ").split()) >= EXAMPLE_DAG_IDS, listed.describe()
