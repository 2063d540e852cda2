"""The supervisor page on a real api-server: the plugin loaded from the package's entry point, jobs started
by real DAG runs (one local, one on a real sshd), SimpleAuthManager with an admin and a viewer, and a real
headless Chromium (Debian's package, driven by Playwright) that logs in through Airflow's login page.

One cluster for the whole module: the tests run in file order and each uses its own program.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest

from tests.fixtures.jobs import short_tempdir
from tests.fixtures.supervisord import kill_tree
from tests.support.airflow import REPO_ROOT, AirflowCluster, AirflowHome, job_dag_source, wait_for
from tests.support.proc import alive

if TYPE_CHECKING:
    from collections.abc import Iterator

# The first test's budget includes the module's setup: a four-process cluster and two DAG runs of
# 4 and 6 tasks, each task a fresh Airflow process (several seconds of CPU each on a busy 2-core machine).
pytestmark = [
    pytest.mark.airflow,
    pytest.mark.airflow31,
    pytest.mark.slow,
    pytest.mark.ssh,
    pytest.mark.timeout(900),
]

PASSWORDS = {"admin": "admin-secret-1", "viewer": "viewer-secret-1"}
UI_TIMEOUT = 10  # [supervisor_async] ui_timeout: seconds per job read (a new SSH channel on a busy machine)
UI_REFRESH = 2  # [supervisor_async] ui_refresh: the page's refresh interval
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS_DIR", REPO_ROOT / "test-artifacts"))
CHROMIUM = "/usr/bin/chromium"


def service(name: str) -> dict[str, str]:
    return {"command": f"bash -c 'echo {name} up; exec sleep 100000'"}


@dataclass
class Response:
    status: int
    body: Any


@dataclass
class Ui:
    """The running cluster and the jobs' folders."""

    cluster: AirflowCluster
    local_dir: Path
    remote_dir: Path
    runs: dict[str, str]
    sshd_port: int
    tokens: dict[str, str]

    @property
    def url(self) -> str:
        return self.cluster.base_url

    def token(self, user: str) -> str:
        if user not in self.tokens:
            body = json.dumps({"username": user, "password": PASSWORDS[user]}).encode()
            request = urllib.request.Request(
                f"{self.url}/auth/token", data=body, headers={"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(request, timeout=120) as response:
                self.tokens[user] = json.load(response)["access_token"]
        return self.tokens[user]

    def call(
        self, method: str, path: str, user: str | None = "admin", *, content_type: str = "application/json"
    ) -> Response:
        headers = {"Accept": "application/json"}
        if user is not None:
            headers["Authorization"] = f"Bearer {self.token(user)}"
        data = None
        if method == "POST":
            headers["Content-Type"] = content_type
            data = b"{}"
        request = urllib.request.Request(f"{self.url}{path}", data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return Response(response.status, json.load(response))
        except urllib.error.HTTPError as exc:
            return Response(exc.code, json.loads(exc.read() or b"null"))

    def jobs(self, user: str = "admin") -> dict[str, dict[str, Any]]:
        response = self.call("GET", "/supervisor/api/jobs", user)
        assert response.status == 200, response
        return {job["dag_id"]: job for job in response.body["jobs"]}

    def programs(self, dag_id: str, user: str = "admin") -> dict[str, dict[str, Any]]:
        return {row["name"]: row for row in self.jobs(user)[dag_id]["programs"]}

    def audit(self, event: str) -> list[dict[str, Any]]:
        return self.cluster.home.query(
            "SELECT event, owner, dag_id, extra FROM log WHERE event = ? ORDER BY id", (event,)
        )


def _supervisord_pid(working_dir: Path) -> int | None:
    pidfile = working_dir / "supervisord.pid"
    with contextlib.suppress(OSError, ValueError):
        return int(pidfile.read_text().strip())
    return None


def _everything_running(ui: Ui) -> bool:
    jobs = ui.jobs()
    if set(jobs) != {"ui_local", "ui_remote"}:
        return False
    running = all(row["state"] == "RUNNING" for job in jobs.values() for row in job["programs"])
    counted = jobs["ui_remote"]["restarts"] == 1
    watched = {row["task_id"] for row in ui.cluster.deferred_task_instances()}
    return running and counted and "ui_local-check-programs" in watched and "ui_remote-restart-programs" in watched


@pytest.fixture(scope="module")
def ui(
    request: pytest.FixtureRequest,
    airflow_home_template: AirflowHome,
    tmp_path_factory: pytest.TempPathFactory,
    sshd: Any,
) -> Iterator[Ui]:
    home = AirflowHome.create(tmp_path_factory.mktemp("airflow-ui"), template=airflow_home_template)
    passwords = home.path / "passwords.json"
    passwords.write_text(json.dumps(PASSWORDS))
    settings = {
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin,viewer:viewer",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__SUPERVISOR_ASYNC__UI_TIMEOUT": str(UI_TIMEOUT),
        "AIRFLOW__SUPERVISOR_ASYNC__UI_REFRESH": str(UI_REFRESH),
    }
    local_dir, remote_dir = short_tempdir("asa-uil-"), short_tempdir("asa-uir-")
    local_dir.rmdir()
    remote_dir.rmdir()
    key = quote(str(sshd.user_key), safe="")
    home.add_connection("ui_host", f"ssh://{sshd.username}@127.0.0.1:{sshd.port}?key_file={key}")
    local_job = {
        "working_dir": str(local_dir),
        "check_interval": 86400,  # the tests change states by hand: the watch must not restart anything meanwhile
        "program": {"web": service("web"), "api": service("api"), "worker": service("worker")},
    }
    home.write_dag("ui_local", job_dag_source("ui_local", local_job))
    venv_bin = Path(sys.executable).parent  # the "remote" host is this machine: supervisord from the venv
    remote_job = {
        "ssh": {"ssh_conn_id": "ui_host", "known_hosts": str(sshd.known_hosts)},
        "command_prefix": f"PATH={venv_bin}:$PATH",
        "working_dir": str(remote_dir),
        "check_interval": 1,
        "unreachable_timeout": 3600,  # a test stops supervisord for a moment
        "program": {
            "feed": service("feed"),
            # fails once, so the job restarts it: the page shows the restart count
            "flaky": {
                "command": "bash -c 'if [ -e tried ]; then exec sleep 100000; fi; touch tried; exit 4'",
                "startsecs": 0,
            },
        },
    }
    home.write_dag("ui_remote", job_dag_source("ui_remote", remote_job))
    cluster = AirflowCluster(home, settings=settings)
    failed_before = request.session.testsfailed
    started = time.monotonic()
    try:
        cluster.start(timeout=180)
        print(f"cluster up after {time.monotonic() - started:.0f} s")
        for dag_id in ("ui_local", "ui_remote"):
            cluster.wait_for_dag(dag_id, timeout=120)
        runs = cluster.trigger_many(["ui_local", "ui_remote"])
        print(f"DAGs parsed and triggered after {time.monotonic() - started:.0f} s")
        ui = Ui(cluster, local_dir, remote_dir, runs, sshd.port, {})
        cluster.wait_for(
            lambda: _everything_running(ui),
            timeout=300,
            interval=1,
            message=lambda: (
                f"jobs not all running: {ui.call('GET', '/supervisor/api/jobs').body}\n"
                + "\n".join(f"{d}: {cluster.task_states(d, r)}" for d, r in runs.items())
            ),
        )
        print(f"jobs running and watched after {time.monotonic() - started:.0f} s")
        yield ui
    finally:
        if request.session.testsfailed > failed_before:
            print(f"\n===== airflow home: {home.path}\n{cluster.logs_tail(80)}")
        cluster.stop()
        home.kill_processes(grace=5)
        for folder in (local_dir, remote_dir):
            pid = _supervisord_pid(folder)
            if pid is not None and alive(pid):
                os.kill(pid, signal.SIGCONT)  # in case a test stopped it
                kill_tree(pid)
            shutil.rmtree(folder, ignore_errors=True)


# -- the JSON API -------------------------------------------------------------------------------------------


def test_jobs_list_live_states_of_local_and_remote_jobs(ui: Ui) -> None:
    jobs = ui.jobs()
    local, remote = jobs["ui_local"], jobs["ui_remote"]
    worker = next(
        row["hostname"]
        for row in ui.cluster.task_instances("ui_local", ui.runs["ui_local"])
        if row["task_id"] == "ui_local-start-supervisor"
    )
    assert (local["where"], local["host"], local["status"], local["error"]) == ("local", worker, "live", None)
    assert local["endpoint"] == f"unix://{ui.local_dir}/supervisor.sock"
    assert (local["run_id"], local["run_state"], local["restarts"]) == (ui.runs["ui_local"], "running", 0)
    assert (remote["where"], remote["host"]) == ("remote", f"127.0.0.1:{ui.sshd_port}")
    assert remote["endpoint"].endswith("via ssh://conn:ui_host")
    assert (remote["run_id"], remote["run_state"], remote["restarts"]) == (ui.runs["ui_remote"], "running", 1)

    rows = {row["name"]: row for row in local["programs"]}
    assert list(rows) == ["api", "web", "worker"]
    for name, row in rows.items():
        assert (row["state"], row["ok"], row["exitstatus"]) == ("RUNNING", True, None)
        assert isinstance(row["uptime"], int)
        assert row["uptime"] >= 0
        cmdline = Path(f"/proc/{row['pid']}/cmdline").read_bytes()  # the pid is the real program's
        assert cmdline.split(b"\0")[:2] == [b"sleep", b"100000"], (name, cmdline)
    assert [row["name"] for row in remote["programs"]] == ["feed", "flaky"], remote["error"]
    # the viewer reads the same jobs but may not act; nobody without a token reads anything
    viewer = ui.jobs("viewer")
    assert set(viewer) == set(jobs)
    assert [job["can_edit"] for job in viewer.values()] == [False, False]
    assert [job["can_edit"] for job in jobs.values()] == [True, True]
    assert ui.call("GET", "/supervisor/api/jobs", None).status == 401


def test_a_program_killed_by_hand_shows_failed_at_the_next_refresh(ui: Ui) -> None:
    pid = ui.programs("ui_local")["worker"]["pid"]
    os.kill(pid, signal.SIGKILL)
    # supervisord has reaped it (and so recorded the exit) once the zombie is gone
    wait_for(lambda: not Path(f"/proc/{pid}").exists(), timeout=30, interval=0.05, message="worker not reaped")
    rows = ui.programs("ui_local")  # one refresh
    assert rows["worker"]["state"] == "EXITED"
    assert rows["worker"]["ok"] is False
    assert rows["worker"]["pid"] is None
    assert rows["worker"]["exitstatus"] is not None
    assert (rows["web"]["state"], rows["api"]["state"]) == ("RUNNING", "RUNNING")


def test_log_tail_is_size_capped_and_checked(ui: Ui) -> None:
    base = "/supervisor/api/jobs/ui_local/ui_local/programs"
    full = ui.call("GET", f"{base}/web/log?stream=stdout&bytes=4096")
    assert full.status == 200, full
    assert (full.body["text"], full.body["stream"], full.body["overflow"]) == ("web up\n", "stdout", False)
    tail = ui.call("GET", f"{base}/web/log?bytes=3", "viewer")  # viewers may read logs
    assert (tail.status, tail.body["text"], tail.body["overflow"]) == (200, "up\n", True)
    assert ui.call("GET", f"{base}/web/log?stream=stderr").body["text"] == ""
    remote = ui.call("GET", "/supervisor/api/jobs/ui_remote/ui_remote/programs/feed/log")
    assert (remote.status, remote.body["text"]) == (200, "feed up\n")

    assert ui.call("GET", f"{base}/web/log?bytes=0").status == 422
    assert ui.call("GET", f"{base}/web/log?bytes={1024 * 1024 + 1}").status == 422
    assert ui.call("GET", f"{base}/web/log?stream=both").status == 422
    missing = ui.call("GET", f"{base}/nope/log")
    assert missing.status == 404
    assert "has no program 'nope'; it has api, web, worker" in missing.body["detail"]
    assert ui.call("GET", "/supervisor/api/jobs/ui_local/other/programs/web/log").status == 404
    assert ui.call("GET", f"{base}/web/log", None).status == 401


def test_restart_is_refused_to_anonymous_and_viewer_and_done_for_admin(ui: Ui) -> None:
    path = "/supervisor/api/jobs/ui_local/ui_local/programs/api/restart"
    before = ui.programs("ui_local")["api"]
    refused = {
        "anonymous": ui.call("POST", path, None),
        "viewer": ui.call("POST", path, "viewer"),
        "form post": ui.call("POST", path, "admin", content_type="application/x-www-form-urlencoded"),
    }
    assert {who: response.status for who, response in refused.items()} == {
        "anonymous": 401,
        "viewer": 403,
        "form post": 415,
    }
    after = ui.programs("ui_local")["api"]
    assert (after["state"], after["pid"]) == ("RUNNING", before["pid"])  # nothing happened
    assert after["uptime"] >= before["uptime"]
    assert alive(before["pid"])
    assert ui.audit("supervisor.restart") == []

    done = ui.call("POST", path, "admin")
    assert done.status == 200, done
    assert (done.body["ok"], done.body["user"]) == (True, "admin")
    assert done.body["report"] == ["api: stopped", "api: started"]
    restarted = ui.programs("ui_local")["api"]
    assert restarted["state"] == "RUNNING"
    assert restarted["pid"] != before["pid"]
    assert not alive(before["pid"])
    (entry,) = ui.audit("supervisor.restart")
    assert (entry["owner"], entry["dag_id"]) == ("admin", "ui_local")
    assert json.loads(entry["extra"])["name"] == "api"
    # unknown programs are refused before anything is asked of supervisord
    assert ui.call("POST", "/supervisor/api/jobs/ui_local/ui_local/programs/nope/stop").status == 404


def test_a_stopped_host_does_not_hold_up_the_page(ui: Ui) -> None:
    pid = _supervisord_pid(ui.remote_dir)
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)  # accepts connections, never answers
    try:
        started = time.monotonic()
        jobs = ui.jobs()
        elapsed = time.monotonic() - started
    finally:
        os.kill(pid, signal.SIGCONT)
    assert jobs["ui_remote"]["status"] == "unreachable"
    assert f"within {UI_TIMEOUT} s" in jobs["ui_remote"]["error"]
    assert jobs["ui_local"]["status"] == "live"
    # a sanity bound only (the error above shows the per-job bound at work): the client's default read
    # timeout is 60 s, which is what a page without that bound would wait for a stopped host
    assert elapsed < 60, elapsed
    wait_for(lambda: ui.jobs()["ui_remote"]["status"] == "live", timeout=30, message="remote job not live again")


# -- the page in a real browser -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.access(CHROMIUM, os.X_OK):
        message = f"{CHROMIUM} missing: apt-get install chromium (scripts/setup.sh does)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",  # as root
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-domain-reliability",
                "--disable-client-side-phishing-detection",
                "--no-pings",
            ],
        )  # Playwright gives each launch a fresh --user-data-dir
        try:
            yield browser
        finally:
            browser.close()


def _login(browser: Any, ui: Ui, user: str) -> Any:
    """A page logged in through Airflow's own login page, redirected back to /supervisor/."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(90_000)  # bounds, not measurements: the machine may be busy
    page.goto(f"{ui.url}/supervisor/")
    page.wait_for_url("**/auth/login**")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORDS[user])
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/auth/login" not in url)
    if page.url != f"{ui.url}/supervisor/":  # Airflow 3.1's login page does not go back to `next`
        page.goto(f"{ui.url}/supervisor/")
    return page


def _row(page: Any, job: str, program: str) -> Any:
    return page.locator(f'section[data-job="{job}"] tr[data-program="{program}"]')


def test_browser_logs_in_sees_the_programs_and_restarts_one(browser: Any, ui: Ui) -> None:
    page = _login(browser, ui, "admin")
    web = _row(page, "ui_local/ui_local", "web")
    web.locator(".state", has_text="RUNNING").wait_for()
    _row(page, "ui_remote/ui_remote", "feed").locator(".state", has_text="RUNNING").wait_for()
    assert page.locator('section[data-job="ui_remote/ui_remote"] .restarts b').inner_text() == "1"
    assert "signed in as admin" in page.locator("#user").inner_text()

    # the uptime counts up with the page's own refresh, without a reload
    first = int(web.locator(".uptime").get_attribute("data-seconds"))
    page.wait_for_function(
        "([sel, s]) => Number(document.querySelector(sel)?.dataset.seconds) > s",
        arg=['section[data-job="ui_local/ui_local"] tr[data-program="web"] .uptime', max(first, 2)],
    )
    before_pid = web.locator(".pid").inner_text()
    before_uptime = int(web.locator(".uptime").get_attribute("data-seconds"))
    assert before_uptime >= 3

    web.locator("button[data-action=restart]").click()  # asks to confirm
    web.locator("button[data-action=restart]", has_text="confirm restart").click()
    page.locator("#notice", has_text="restart web: web: stopped; web: started").wait_for()
    page.wait_for_function(
        "([sel, pid]) => { const r = document.querySelector(sel);"
        " return r && r.dataset.state === 'RUNNING' && r.querySelector('.pid').textContent !== pid; }",
        arg=['section[data-job="ui_local/ui_local"] tr[data-program="web"]', before_pid],
    )
    after_uptime = int(web.locator(".uptime").get_attribute("data-seconds"))
    assert after_uptime < before_uptime, (before_uptime, after_uptime)

    web.locator("button[data-action=log]").click()
    page.locator("#log-text", has_text="web up").wait_for()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "supervisor-page.png"), full_page=True)
    page.context.close()


def test_browser_viewer_gets_no_action_buttons(browser: Any, ui: Ui) -> None:
    page = _login(browser, ui, "viewer")
    _row(page, "ui_local/ui_local", "web").locator(".state", has_text="RUNNING").wait_for()
    assert page.locator("button[data-action=restart]").count() == 0
    assert page.locator("button[data-action=log]").count() == 5  # 3 local + 2 remote programs
    page.context.close()


def test_the_page_is_linked_from_airflow_navigation(browser: Any, ui: Ui) -> None:
    page = _login(browser, ui, "admin")
    page.goto(f"{ui.url}/dags")
    page.get_by_role("button", name="Browse").click()
    page.get_by_role("menuitem", name="Supervisor").click()
    page.wait_for_url("**/plugin/supervisor")
    frame = page.frame_locator("iframe[title=Supervisor]")
    web = frame.locator('section[data-job="ui_local/ui_local"] tr[data-program="web"]')
    web.locator(".state", has_text="RUNNING").wait_for()
    web.locator("button[data-action=log]").click()
    frame.locator("#log-text", has_text="web up").wait_for()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "supervisor-in-airflow.png"))
    # links to Airflow's own pages open in Airflow's UI, not inside the frame
    frame.locator('section[data-job="ui_local/ui_local"] h2 a').click()
    page.wait_for_url(f"{ui.url}/dags/ui_local")
    page.context.close()
