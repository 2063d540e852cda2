"""The same supervisor DAG against a real OpenSSH sshd on 127.0.0.1: supervisord started over SSH,
the config uploaded over SFTP, XML-RPC through the SSH connection to supervisord's unix socket."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.fixtures.jobs import short_tempdir
from tests.support.airflow import job_dag_source, wait_for

pytestmark = [pytest.mark.airflow, pytest.mark.airflow31, pytest.mark.slow, pytest.mark.ssh]

#: fails once, after the test has seen the watch deferred (no race with a busy machine)
FLAKY = (
    "bash -c 'if [ -e tried ]; then sleep 2; exit 0; fi; "
    "while [ ! -e release ]; do sleep 0.2; done; touch tried; exit 4'"
)


def test_remote_dag_over_real_sshd(airflow_home: Any, sshd: Any) -> None:
    working_dir = short_tempdir("asa-rem-")
    working_dir.rmdir()
    # The remote shell finds supervisord on PATH through the connection's login shell; here the
    # "remote" host is this machine, so put the venv's bin first for the sshd session.
    venv_bin = Path(sys.executable).parent
    key = quote(str(sshd.user_key), safe="")
    airflow_home.add_connection("supervisor_host", f"ssh://{sshd.username}@127.0.0.1:{sshd.port}?key_file={key}")
    cfg = {
        "ssh": {"ssh_conn_id": "supervisor_host", "known_hosts": str(sshd.known_hosts)},
        "command_prefix": f"PATH={venv_bin}:$PATH",
        "working_dir": str(working_dir),
        "check_interval": 1,
        "program": {"steady": {"command": "sleep 3"}, "flaky": {"command": FLAKY}},
    }
    airflow_home.write_dag("job_remote", job_dag_source("job_remote", cfg))
    private_tmp = short_tempdir("asa-tmp-")  # the run's TMPDIR: what it leaves behind is visible here
    airflow_home.settings["TMPDIR"] = str(private_tmp)

    def release_when_deferred() -> None:
        def deferred() -> bool:
            rows = airflow_home.task_instances("job_remote")
            # `dags test` runs the trigger inline with the task back in "queued", its trigger_id still set
            return any(r["task_id"] == "job_remote-check-programs" and r["trigger_id"] is not None for r in rows)

        try:
            wait_for(deferred, timeout=240, interval=0.3)
        finally:  # release the program in any case, so that a failed test does not leave it waiting
            (working_dir / "flaky").mkdir(parents=True, exist_ok=True)
            (working_dir / "flaky" / "release").touch()

    releaser = threading.Thread(target=release_when_deferred, daemon=True)
    releaser.start()
    try:
        result = airflow_home.dags_test("job_remote", timeout=300)
        result.assert_success(
            {
                "job_remote-configure-supervisor": "success",
                "job_remote-check-programs": "success",
                "job_remote-restart-programs": "success",
                "job_remote-unconfigure-supervisor": "success",
            }
        )
        assert "job_remote-check-programs" in result.deferred_task_ids
        assert "restarting flaky (restart 1 of 3)" in result.output, result.describe()
        assert not working_dir.exists()  # removed on the "remote" host over SSH
        # XML-RPC went over SSH channels: no local forwarder socket, no temp dir (older versions left sv-ssh-*)
        assert not [p.name for p in private_tmp.iterdir() if p.name.startswith("sv-ssh-")]
    finally:
        releaser.join(timeout=300)
        shutil.rmtree(private_tmp, ignore_errors=True)
        pid = working_dir / "supervisord.pid"
        if pid.exists():
            subprocess.run(["kill", "-KILL", pid.read_text().strip()], check=False)
        shutil.rmtree(working_dir, ignore_errors=True)
