"""supervisor-host without Docker: its entrypoint's `keys` role and its sshd settings, run on this machine.

The `ssh-keys` service's script writes the keys into two folders (the volumes); a real sshd then runs with
supervisor-host's sshd_config drop-in and those keys, and the project's CLI drives a supervisord job through
it exactly as examples/remote_dag.py does: through the Airflow connection URI of docker-compose.yml (key
file, known_hosts, no_host_key_check=false). Only what cannot be the same outside a container is changed:
folders, the login user (this test's user instead of `supervisor`), the port, and StrictModes (pytest's
temp folders are under the world-writable /tmp).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

from tests.deploy.compose import ROOT, component_services, environment, services
from tests.support.airflow import AirflowHome, CommandResult, run_command

if TYPE_CHECKING:
    from collections.abc import Iterator

ENTRYPOINT = ROOT / "docker" / "supervisor-host-entrypoint.sh"
SSHD_DROP_IN = ROOT / "docker" / "supervisor-host-sshd.conf"
SSHD = "/usr/sbin/sshd"
SFTP_SERVER = next(
    (p for p in ("/usr/lib/openssh/sftp-server", "/usr/libexec/openssh/sftp-server") if Path(p).exists()), None
)

pytestmark = [
    pytest.mark.ssh,
    pytest.mark.skipif(os.geteuid() != 0, reason="the keys role chowns files and sshd logs in as root: needs root"),
    pytest.mark.skipif(not os.access(SSHD, os.X_OK) or shutil.which("ssh-keygen") is None, reason="needs OpenSSH"),
]


def _keys(tmp: Path, keys_in: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "KEYS_IN": str(keys_in),
        "AIRFLOW_SSH": str(tmp / "airflow-ssh"),
        "HOST_KEYS": str(tmp / "host-keys"),
        "SSH_HOST_NAME": environment(services()["ssh-keys"])["SSH_HOST_NAME"],
    }
    return subprocess.run(
        ["sh", str(ENTRYPOINT), "keys"], env=env, check=True, capture_output=True, text=True, timeout=60
    )


def _mode_owner(path: Path) -> tuple[int, int]:
    info = path.stat()
    return stat.S_IMODE(info.st_mode), info.st_uid


def _public(path: Path) -> str:
    """``type base64`` of a public key line."""
    return " ".join(path.read_text().split()[:2])


def test_keys_are_generated_once_pinned_and_replaced_by_your_own(tmp_path: Path) -> None:
    keys_in = tmp_path / "docker-ssh"
    keys_in.mkdir()
    airflow_ssh, host_keys = tmp_path / "airflow-ssh", tmp_path / "host-keys"
    first = _keys(tmp_path, keys_in)
    assert "generated" in first.stdout
    host_key = (host_keys / "ssh_host_ed25519_key").read_bytes()

    assert _mode_owner(airflow_ssh) == (0o700, 50000)
    assert _mode_owner(airflow_ssh / "id_ed25519") == (0o600, 50000)  # the official image's airflow user
    assert _mode_owner(host_keys / "ssh_host_ed25519_key") == (0o600, 0)
    assert (
        airflow_ssh / "known_hosts"
    ).read_text() == f"supervisor-host {_public(host_keys / 'ssh_host_ed25519_key.pub')}\n"
    authorized = (host_keys / "authorized_keys").read_text().split()
    assert authorized[0] == "restrict,port-forwarding"
    assert " ".join(authorized[1:3]) == _public(airflow_ssh / "id_ed25519.pub")

    # a second start keeps the keys; a key of your own in docker/ssh/ replaces the client key
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys_in / "id_ed25519")], check=True)
    os.chown(keys_in / "id_ed25519", 1234, 1234)
    (keys_in / "id_ed25519").chmod(0o644)
    _keys(tmp_path, keys_in)
    assert (host_keys / "ssh_host_ed25519_key").read_bytes() == host_key
    assert (airflow_ssh / "id_ed25519").read_bytes() == (keys_in / "id_ed25519").read_bytes()
    assert _mode_owner(airflow_ssh / "id_ed25519") == (0o600, 50000)
    assert _public(airflow_ssh / "id_ed25519.pub") == _public(keys_in / "id_ed25519.pub")
    assert _public(keys_in / "id_ed25519.pub") in (host_keys / "authorized_keys").read_text()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _supervisor_host_sshd(tmp: Path, host_keys: Path) -> Iterator[int]:
    """sshd with supervisor-host's drop-in (keys folder moved, this user allowed); yields its port."""
    user = "root"
    drop_in = SSHD_DROP_IN.read_text().replace("/etc/ssh/keys", str(host_keys))
    drop_in, allowed = re.subn(r"^AllowUsers supervisor$", f"AllowUsers {user}", drop_in, flags=re.MULTILINE)
    drop_in, root_login = re.subn(r"^PermitRootLogin no$", "PermitRootLogin prohibit-password", drop_in, flags=re.M)
    assert (allowed, root_login) == (1, 1)
    (tmp / "drop-in.conf").write_text(drop_in)
    port = _free_port()
    # like Debian's sshd_config: the drop-ins are included first, so their values win
    (tmp / "sshd_config").write_text(
        f"Include {tmp / 'drop-in.conf'}\nPort {port}\nListenAddress 127.0.0.1\nPidFile {tmp / 'sshd.pid'}\n"
        f"UsePAM no\nStrictModes no\nSubsystem sftp {SFTP_SERVER or 'internal-sftp'}\n"
    )
    log = tmp / "sshd.log"
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(tmp / "sshd_config")], stderr=log.open("wb"))
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
                break
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        yield port
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _moved(compose_uri: str, port: int, key_file: Path, known_hosts: Path) -> str:
    """The compose connection URI with this sshd's address, this user and the test's key files."""
    parts = urlsplit(compose_uri)
    extras = dict(parse_qsl(parts.query))
    assert set(extras) == {"key_file", "known_hosts", "no_host_key_check"}, extras
    assert (parts.username, parts.hostname, parts.port) == ("supervisor", "supervisor-host", 22)
    extras |= {"key_file": str(key_file), "known_hosts": str(known_hosts)}
    return urlunsplit((parts.scheme, f"root@127.0.0.1:{port}", parts.path, urlencode(extras), ""))


@pytest.mark.airflow
@pytest.mark.slow
def test_a_job_runs_through_supervisor_hosts_sshd_with_the_compose_connection(tmp_path: Path) -> None:
    _keys(tmp_path, tmp_path / "no-keys-of-your-own")
    airflow_ssh, host_keys = tmp_path / "airflow-ssh", tmp_path / "host-keys"
    compose_uri = environment(services()[component_services()["scheduler"]])["AIRFLOW_CONN_SUPERVISOR_HOST"]
    job = tmp_path / "job.yaml"
    job.write_text(
        "_target_: airflow_supervisor_async.SupervisorSSHAirflowConfiguration\n"
        f"working_dir: {tmp_path / 'job'}\n"
        f"command_prefix: PATH={Path(sys.executable).parent}:$PATH\n"
        "ssh: {ssh_conn_id: supervisor_host}\n"
        "program: {feed: {command: sleep 60}}\n"
    )
    home = AirflowHome(tmp_path / "airflow-home")

    with _supervisor_host_sshd(tmp_path, host_keys) as port:
        # the compose URI, pointed at this sshd: same extras, the keys and known_hosts from the keys role
        pinned = (airflow_ssh / "known_hosts").read_text().replace("supervisor-host ", f"[127.0.0.1]:{port} ", 1)
        (tmp_path / "known_hosts").write_text(pinned)
        uri = _moved(compose_uri, port, airflow_ssh / "id_ed25519", tmp_path / "known_hosts")

        def cli(*args: str, known_hosts_uri: str = uri) -> CommandResult:
            env = home.env({"AIRFLOW_CONN_SUPERVISOR_HOST": known_hosts_uri})
            return run_command([sys.executable, "-m", "airflow_supervisor_async.cli.main", *args], env=env, timeout=90)

        try:
            up = cli("up", str(job))
            assert up.returncode == 0, up.describe()
            started = cli("start", str(job), "feed")
            assert started.returncode == 0, started.describe()
            status = cli("status", str(job), "--json")
            assert status.returncode == 0, status.describe()
            rows = json.loads(status.output[status.output.index("[") :])
            assert [(row["name"], row["state"]) for row in rows] == [("feed", "RUNNING")], rows

            # another host key than the pinned one: refused, nothing is sent
            (tmp_path / "other").mkdir()
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "other" / "key")], check=True
            )
            (tmp_path / "wrong_known_hosts").write_text(
                f"[127.0.0.1]:{port} {_public(tmp_path / 'other' / 'key.pub')}\n"
            )
            wrong = _moved(compose_uri, port, airflow_ssh / "id_ed25519", tmp_path / "wrong_known_hosts")
            refused = cli("status", str(job), known_hosts_uri=wrong)
            assert refused.returncode == 2, refused.describe()
            assert "host key is not trusted" in refused.output, refused.describe()
        finally:
            down = cli("down", "--remove", str(job))
        assert down.returncode == 0, down.describe()
        assert not (tmp_path / "job").exists()
