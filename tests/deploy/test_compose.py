"""docker-compose.yml, checked without a Docker engine: structure, wiring between services, the files it
builds and mounts, its Airflow settings read by the real Airflow, and the mounted example DAGs bagged by it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import pytest

from tests.deploy.compose import (
    AIRFLOW_COMPONENTS,
    AIRFLOW_DOCKERFILE,
    EXAMPLE_DAG_IDS,
    ROOT,
    SUPERVISOR_HOST_DOCKERFILE,
    airflow_services,
    command,
    component_services,
    compose,
    copy_sources,
    dockerfile,
    environment,
    is_dockerignored,
    is_host_path,
    mount_at,
    published_ports,
    services,
    url_host_port,
    volume_mounts,
)
from tests.support.airflow import AirflowHome, CommandResult, run_command

SECRET_SETTINGS = ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY", "AIRFLOW__CORE__FERNET_KEY")
RESTART_POLICIES = frozenset({"no", "always", "on-failure", "unless-stopped"})


def _env(service_name: str) -> dict[str, str]:
    return environment(services()[service_name])


def _scheduler() -> str:
    return component_services()["scheduler"]


# -- structure ----------------------------------------------------------------------------------


def test_every_service_has_an_image_or_a_build_with_an_existing_dockerfile() -> None:
    for name, service in services().items():
        assert "image" in service or "build" in service, f"{name}: neither image nor build"
        path = dockerfile(service)
        if path is not None:
            assert (ROOT / path).is_file(), f"{name}: {path} does not exist"
    built = {dockerfile(service) for service in services().values()}
    assert {AIRFLOW_DOCKERFILE, SUPERVISOR_HOST_DOCKERFILE} <= built


def test_the_airflow_components_postgres_and_the_supervisor_host_exist() -> None:
    assert set(component_services()) == set(AIRFLOW_COMPONENTS)
    postgres = [name for name, svc in services().items() if str(svc.get("image", "")).startswith("postgres:")]
    assert postgres == ["postgres"]
    assert dockerfile(services()["supervisor-host"]) == SUPERVISOR_HOST_DOCKERFILE
    assert dockerfile(services()["ssh-keys"]) == SUPERVISOR_HOST_DOCKERFILE
    assert command(services()["ssh-keys"]) == ["keys"]


def test_the_airflow_image_is_the_official_one_with_this_project_installed() -> None:
    text = (ROOT / AIRFLOW_DOCKERFILE).read_text(encoding="utf-8")
    base = re.search(r"^ARG AIRFLOW_IMAGE=(\S+)", text, re.MULTILINE)
    assert base, "no ARG AIRFLOW_IMAGE"
    assert re.fullmatch(r"apache/airflow:3\.\d+\.\d+-python3\.1[1-3]", base.group(1)), base.group(1)
    assert re.search(r"^FROM \$\{AIRFLOW_IMAGE\}$", text, re.MULTILINE)
    assert '"apache-airflow==${AIRFLOW_VERSION:?}"' in text  # pip never swaps the image's own Airflow
    assert '"/opt/project[airflow]"' in text


def test_every_file_the_dockerfiles_copy_is_in_the_build_context_and_private_keys_are_not() -> None:
    for path in (AIRFLOW_DOCKERFILE, SUPERVISOR_HOST_DOCKERFILE):
        sources = copy_sources(ROOT / path)
        assert sources, path
        for source in sources:
            assert (ROOT / source).exists(), f"{path}: COPY {source}: no such file"
            probe = f"{source}/__init__.py" if (ROOT / source).is_dir() else source
            assert not is_dockerignored(probe), f"{path}: COPY {source}: excluded by .dockerignore"
    for secret in ("docker/ssh/id_ed25519", "docker/ssh/ssh_host_ed25519_key", ".env", ".git/config", ".venv/x"):
        assert is_dockerignored(secret), f"{secret} would be sent to the Docker builder"
    assert is_dockerignored("airflow_supervisor_async/__pycache__/x.pyc")


def test_airflow_init_migrates_creates_the_admin_and_runs_once() -> None:
    init = services()["airflow-init"]
    env = environment(init)
    assert env["_AIRFLOW_DB_MIGRATE"] == "true"
    assert env["_AIRFLOW_WWW_USER_CREATE"] == "true"
    assert env["AIRFLOW__CORE__AUTH_MANAGER"].endswith("FabAuthManager")  # `airflow users create` is FAB's
    assert init["restart"] == "no"
    assert "/entrypoint airflow" in command(init)[-1]  # the official entrypoint does migrate + user


def test_depends_on_uses_conditions_that_the_dependencies_can_meet() -> None:
    everything = services()
    for name, service in everything.items():
        depends = service.get("depends_on", {})
        assert isinstance(depends, dict), f"{name}: depends_on without conditions"
        for dependency, spec in depends.items():
            assert dependency in everything, f"{name} depends on unknown service {dependency}"
            condition = spec["condition"]
            target = everything[dependency]
            if condition == "service_healthy":
                assert "healthcheck" in target, f"{name} waits for {dependency} to be healthy; it has no healthcheck"
            elif condition == "service_completed_successfully":
                assert target.get("restart") == "no", f"{name} waits for {dependency} to finish; it is restarted"
            else:
                assert condition == "service_started", f"{name}: {condition}"
    components = component_services()
    for name in components.values():
        depends = everything[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["airflow-init"]["condition"] == "service_completed_successfully", name
    for component in ("scheduler", "triggerer"):  # their tasks and triggers use the Execution API
        assert everything[components[component]]["depends_on"][components["api-server"]] == {
            "condition": "service_healthy"
        }


def test_long_running_services_have_healthchecks_and_one_shots_are_not_restarted() -> None:
    for name, service in services().items():
        restart = str(service.get("restart", "no"))
        assert restart in RESTART_POLICIES, f"{name}: restart {restart!r}"
        if restart == "no":
            assert name in ("airflow-init", "ssh-keys"), f"{name} is not restarted"
        else:
            test = service["healthcheck"]["test"]
            assert test[0] in ("CMD", "CMD-SHELL"), f"{name}: {test}"
            assert len(test) > 1, f"{name}: {test}"


def test_ports_are_published_only_on_loopback_and_only_the_api_server() -> None:
    publishing = {name for name, service in services().items() if service.get("ports")}
    assert publishing == {component_services()["api-server"]}
    for name, service in services().items():
        for host_ip, spec in published_ports(service):
            assert host_ip == "127.0.0.1", f"{name} publishes {spec} beyond loopback"


def test_every_mounted_host_path_exists_and_named_volumes_are_declared() -> None:
    declared = set(compose().get("volumes") or {})
    for name, service in services().items():
        for source, target, _read_only in volume_mounts(service):
            if is_host_path(source):
                assert (ROOT / source).exists(), f"{name}: {source} (mounted at {target}) does not exist"
            else:
                assert source in declared, f"{name}: volume {source!r} is not declared"


def test_the_examples_folder_is_the_read_only_dags_folder() -> None:
    for name in (component_services()[c] for c in ("scheduler", "dag-processor", "triggerer")):
        env = _env(name)
        mounted = mount_at(services()[name], env["AIRFLOW__CORE__DAGS_FOLDER"])
        assert mounted is not None, f"{name}: nothing mounted at the DAGs folder"
        source, read_only = mounted
        assert (ROOT / source).resolve() == ROOT / "examples", (name, mounted)
        assert read_only, (name, mounted)
    assert {path.name for path in (ROOT / "examples").glob("*_dag.py")} == {
        "local_dag.py",
        "remote_dag.py",
        "always_on_dag.py",
        "yaml_dag.py",
    }


def test_airflow_services_share_one_image_and_one_configuration() -> None:
    airflow = airflow_services()
    assert set(component_services().values()) | {"airflow-init"} == set(airflow)
    assert len({str(svc.get("image")) for svc in airflow.values()}) == 1
    envs = {name: environment(svc) for name, svc in airflow.items()}
    for key in (
        "AIRFLOW__CORE__EXECUTOR",
        "AIRFLOW__CORE__AUTH_MANAGER",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
        "AIRFLOW__CORE__DAGS_FOLDER",
        "AIRFLOW__API_AUTH__JWT_SECRET_CMD",
        "AIRFLOW__API__SECRET_KEY_CMD",
        "AIRFLOW__CORE__FERNET_KEY_CMD",
        "AIRFLOW_CONN_SUPERVISOR_HOST",
    ):
        values = {name: env.get(key) for name, env in envs.items()}
        assert None not in values.values(), (key, values)
        assert len(set(values.values())) == 1, (key, values)
    env = envs[_scheduler()]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    for key in SECRET_SETTINGS:  # secrets come from the generated files only, never from this file
        assert key not in env, key
    # the Execution API is the api-server service, on the port it listens on
    api_server = component_services()["api-server"]
    host, port = url_host_port(env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
    assert host == api_server
    assert urlsplit(env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"]).path == "/execution/"
    container_ports = {spec.rsplit(":", 1)[-1] for _ip, spec in published_ports(services()[api_server])}
    assert str(port) in container_ports
    assert url_host_port(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])[0] == "postgres"


def test_local_jobs_share_tmp_between_the_scheduler_and_the_triggerer() -> None:
    """LocalExecutor tasks start supervisord in the scheduler container; the triggerer polls its unix socket,
    and so does the api-server's supervisor page."""
    scheduler = mount_at(services()[_scheduler()], "/tmp")
    triggerer = mount_at(services()[component_services()["triggerer"]], "/tmp")
    api_server = mount_at(services()[component_services()["api-server"]], "/tmp")
    assert scheduler is not None
    assert scheduler == triggerer == api_server
    assert not is_host_path(scheduler[0])
    for dag in ("local_dag.py", "always_on_dag.py"):
        assert 'working_dir="/tmp/' in (ROOT / "examples" / dag).read_text(encoding="utf-8"), dag
    assert "working_dir: /tmp/" in (ROOT / "examples" / "config" / "feed.yaml").read_text(encoding="utf-8")


# -- the SSH connection and its keys ----------------------------------------------------------------


@pytest.mark.airflow
def test_the_connection_uri_parses_as_an_airflow_ssh_connection_with_host_key_checking() -> None:
    from airflow.models.connection import Connection

    uri = _env(_scheduler())["AIRFLOW_CONN_SUPERVISOR_HOST"]
    conn = Connection(conn_id="supervisor_host", uri=uri)
    assert (conn.conn_type, conn.host, conn.port, conn.login) == ("ssh", "supervisor-host", 22, "supervisor")
    assert conn.password is None  # key login only
    extra = conn.extra_dejson
    assert str(extra["no_host_key_check"]).lower() == "false"
    assert "host_key" not in extra  # pinned through known_hosts
    key_dir = PurePosixPath(extra["key_file"]).parent
    assert PurePosixPath(extra["known_hosts"]).parent == key_dir
    assert conn.host in services()
    # where tasks (scheduler: LocalExecutor) and triggers run, the keys' volume is mounted at that folder...
    # (and in the api-server, whose supervisor page reads remote jobs too)
    readers = ("scheduler", "triggerer", "api-server")
    mounted = {mount_at(services()[component_services()[c]], str(key_dir)) for c in readers}
    assert len(mounted) == 1, mounted
    volume, read_only = next(iter(mounted)) or ("", False)
    assert read_only
    assert not is_host_path(volume)
    # ...and it is the volume ssh-keys writes the client key and known_hosts into, pinned for this host name
    keys = services()["ssh-keys"]
    keys_env = environment(keys)
    assert (volume, False) == mount_at(keys, "/airflow-ssh")
    assert keys_env["SSH_HOST_NAME"] == conn.host
    assert PurePosixPath(extra["key_file"]).name == "id_ed25519"
    assert PurePosixPath(extra["known_hosts"]).name == "known_hosts"
    # supervisor-host reads its host key and authorized_keys where sshd is told to, from ssh-keys' volume
    sshd_conf = (ROOT / "docker" / "supervisor-host-sshd.conf").read_text(encoding="utf-8")
    host_key = re.search(r"^HostKey (\S+)$", sshd_conf, re.MULTILINE)
    authorized = re.search(r"^AuthorizedKeysFile (\S+)$", sshd_conf, re.MULTILINE)
    assert host_key
    assert authorized
    host_volume = mount_at(services()["supervisor-host"], str(PurePosixPath(host_key.group(1)).parent))
    assert host_volume is not None
    assert host_volume[1], "supervisor-host: host keys not mounted read-only"
    assert PurePosixPath(authorized.group(1)).parent == PurePosixPath(host_key.group(1)).parent
    assert (host_volume[0], False) == mount_at(keys, "/host-keys")
    assert re.search(rf"^AllowUsers {conn.login}$", sshd_conf, re.MULTILINE)


# -- the generated secrets, read by the real Airflow ----------------------------------------------------


def _init_script(secrets_dir: Path, logs_dir: Path) -> str:
    """airflow-init's script, run here: paths moved to ``tmp``, the official entrypoint left out."""
    script = command(services()["airflow-init"])[-1]
    assert "exec /entrypoint airflow version" in script
    script = script.replace("exec /entrypoint airflow version", "exit 0")
    script = script.replace("/opt/airflow/secrets", str(secrets_dir)).replace("/opt/airflow/logs", str(logs_dir))
    if os.geteuid() != 0:
        script = script.replace("chown -R 50000:0", ": chown")
    return script


@pytest.mark.slow
@pytest.mark.airflow
def test_airflow_init_generates_secrets_that_every_component_reads_the_same(tmp_path: Path) -> None:
    secrets_dir, logs_dir = tmp_path / "secrets", tmp_path / "logs"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    for _ in range(2):  # a second start keeps the secrets
        subprocess.run(["bash", "-c", _init_script(secrets_dir, logs_dir)], env=env, check=True, timeout=60)
    files = {path.name: path.read_text() for path in secrets_dir.iterdir()}
    assert set(files) == {"jwt_secret", "api_secret_key", "fernet_key"}
    assert all(value and value == value.strip() for value in files.values()), files.keys()
    assert {oct(path.stat().st_mode & 0o777) for path in secrets_dir.iterdir()} == {"0o400"}

    # what the components see, through the compose file's `_CMD` settings
    home = AirflowHome(tmp_path / "home")
    airflow_env = home.env()
    for key in SECRET_SETTINGS:
        airflow_env.pop(key, None)
        cmd = _env(_scheduler())[f"{key}_CMD"].replace("/opt/airflow/secrets", str(secrets_dir))
        airflow_env[f"{key}_CMD"] = cmd
    probe = (
        "import json; from airflow.configuration import conf; from cryptography.fernet import Fernet; "
        "Fernet(conf.get('core', 'fernet_key')); "
        "print(json.dumps([conf.get('api_auth', 'jwt_secret'), conf.get('api', 'secret_key'),"
        " conf.get('core', 'fernet_key')]))"
    )
    result = run_command([sys.executable, "-c", probe], env=airflow_env, timeout=60)
    assert result.returncode == 0, result.describe()
    seen = json.loads(result.output.strip().splitlines()[-1])
    assert seen == [files["jwt_secret"], files["api_secret_key"], files["fernet_key"]]


# -- the mounted example DAGs in the real Airflow ----------------------------------------------------


def _json_output(result: CommandResult) -> object:
    """The JSON document the CLI printed after its log lines."""
    lines = [line for line in result.output.splitlines() if line.startswith(("[", "{"))]
    assert lines, result.describe()
    return json.loads(lines[-1])


@pytest.mark.airflow
@pytest.mark.slow
def test_the_mounted_example_dags_import_and_bag_without_errors(airflow_home: AirflowHome) -> None:
    mounted = mount_at(
        services()[component_services()["dag-processor"]], _env(_scheduler())["AIRFLOW__CORE__DAGS_FOLDER"]
    )
    assert mounted is not None
    shutil.copytree(ROOT / mounted[0], airflow_home.dags_folder, dirs_exist_ok=True)
    # what the dag-processor does: parse every file and serialize the DAGs into the metadata DB
    airflow_home.run_cli("dags", "reserialize", timeout=180)
    with ThreadPoolExecutor(2) as pool:
        errors_call = pool.submit(airflow_home.run_cli, "dags", "list-import-errors", "--output", "json")
        dags_call = pool.submit(airflow_home.run_cli, "dags", "list", "--output", "json")
        errors, dags = errors_call.result(), dags_call.result()
    assert _json_output(errors) == [], errors.describe()
    listed = _json_output(dags)
    assert isinstance(listed, list)
    assert {row["dag_id"] for row in listed} == EXAMPLE_DAG_IDS, dags.describe()
