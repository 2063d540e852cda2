"""Refused at construction, with a message naming the field (and never a secret): input that used to pass and
break at render time or inside supervisord."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from airflow_supervisor_async.config import (
    AirflowConfiguration,
    ConfigurationError,
    SSHConfiguration,
    SupervisorAirflowConfiguration,
)

PROGRAM = {"feed": {"command": "sleep 1"}}


def make(**options: Any) -> SupervisorAirflowConfiguration:
    return SupervisorAirflowConfiguration.model_validate({"working_dir": "/tmp/asa-v", "program": PROGRAM, **options})


@pytest.mark.parametrize(
    ("options", "field", "expected"),
    [
        # `$` in a regex matches before a trailing newline: names, group and environment keys
        ({"program": {"feed\n": {"command": "x"}}}, "program", "invalid name 'feed\\n'"),
        ({"group": {"g\n": {"programs": ["feed"]}}}, "group", "invalid name 'g\\n'"),
        ({"group": {"g": {"programs": ["feed\n"]}}}, "group.g.programs", "invalid name"),
        ({"program": {"feed": {"command": "x", "environment": {"A\n": "1"}}}}, "program.feed.environment", "valid"),
        ({"program": {"feed": {"command": "x", "environment": {"A\x01": "1"}}}}, "program.feed.environment", "valid"),
        ({"supervisord": {"environment": {"B\n": "1"}}}, "supervisord.environment", "not a valid variable"),
        ({"program": {"feed": {"command": "x", "environment": {"A": "a\x1b"}}}}, "program.feed.environment", "control"),
        # exit codes are bytes
        ({"airflow": {"exitcodes": [0, 256]}}, "airflow.exitcodes", "less than or equal to 255"),
        ({"airflow": {"exitcodes": "-1"}}, "airflow.exitcodes", "greater than or equal to 0"),
        ({"program": {"feed": {"command": "x", "exitcodes": [300]}}}, "program.feed.exitcodes", "less than or equal"),
        # supervisord refuses killasgroup=false with stopasgroup=true, also when the two come from different places
        ({"airflow": {"killasgroup": False}}, "airflow", "killasgroup is false but stopasgroup is true"),
        ({"program": {"feed": {"command": "x", "killasgroup": False}}}, "program.feed", "stopasgroup"),
        # user names
        ({"program": {"feed": {"command": "x", "user": "bob smith"}}}, "program.feed.user", "expected a user name"),
        ({"program": {"feed": {"command": "x", "user": "bob;id"}}}, "program.feed.user", "expected a user name"),
        ({"supervisord": {"user": "a b"}}, "supervisord.user", "expected a user name"),
        ({"unix_http_server": {"chown": "bob;x:grp"}}, "unix_http_server.chown", "user:group"),
        ({"airflow": {"username": "ops team", "password": "pw"}}, "airflow.username", "not a usable HTTP user"),
        ({"airflow": {"username": "ops;x", "password": "pw"}}, "airflow.username", "not a usable HTTP user"),
        ({"supervisorctl": {"username": "a:b"}}, "supervisorctl.username", "not a usable HTTP user"),
        # paths: one line, absolute, no '..', not the root or the current folder
        ({"working_dir": "/tmp/a\nb"}, "working_dir", "control character"),
        ({"config_path": "/tmp/a\rb.conf"}, "config_path", "control character"),
        ({"airflow": {"unix_socket": "/tmp/s\n.sock"}}, "airflow.unix_socket", "control character"),
        ({"airflow": {"unix_socket": "rel.sock"}}, "airflow.unix_socket", "absolute"),
        ({"working_dir": ""}, "working_dir", "empty"),
        ({"working_dir": "jobs/feed"}, "working_dir", "absolute"),
        ({"working_dir": "/tmp/x/.."}, "working_dir", "'..'"),
        ({"working_dir": "/"}, "working_dir", "root folder"),
        ({"config_path": "../elsewhere.conf"}, "config_path", "'..'"),
        ({"job": "../x"}, "job", "invalid job name"),
        ({"job": ".."}, "job", "invalid job name"),
        # durations
        ({"runtime": "-PT5S"}, "runtime", "greater than 0"),
        ({"runtime": 0}, "runtime", "greater than 0"),
        # what supervisord refuses once the Airflow defaults are filled in: caught now, not at render time
        ({"program": {"feed": {"process_name": "x"}}}, "program.feed", "command is required"),
    ],
)
def test_refused_at_construction(options: dict[str, Any], field: str, expected: str) -> None:
    with pytest.raises(ValidationError) as info:
        make(**options)
    assert expected in str(info.value)
    with pytest.raises(ConfigurationError) as loaded:  # the same through the YAML loader, naming the field
        SupervisorAirflowConfiguration.load(_yaml({"working_dir": "/tmp/asa-v", "program": PROGRAM, **options}))
    named = [f"{path}: {message}".replace("(top level): ", "") for path, message in loaded.value.problems]
    assert any(line.startswith(field) and expected in line for line in named), named


def _yaml(data: dict[str, Any]) -> str:
    import json

    return json.dumps(data) + "\n"  # JSON is YAML; the newline marks it as text, not a file name


def test_ssh_paths_are_single_lines() -> None:
    with pytest.raises(ValidationError, match="control character"):
        SSHConfiguration(host="h", key_file="/home/u/.ssh/id\n")
    with pytest.raises(ValidationError, match="control character"):
        SSHConfiguration(host="h", known_hosts="/k\x00")


def test_endtime_with_an_offset_is_converted_to_utc_never_dropped() -> None:
    assert make(endtime="17:00+02:00").endtime == time(15, 0)
    assert make(endtime="01:30-03:00").endtime == time(4, 30)
    assert make(endtime=time(9, 0)).endtime == time(9, 0)  # no offset: already UTC
    with pytest.raises(ValidationError, match="offset depends on the date"):
        make(endtime=time(17, 0, tzinfo=ZoneInfo("Europe/Paris")))


def test_good_values_still_pass() -> None:
    cfg = make(
        runtime=timedelta(seconds=5),
        airflow={"exitcodes": "0,2,255", "username": "ops@example", "password": "pw"},
        program={"feed": {"command": "x", "user": "svc-feed", "killasgroup": True, "stopasgroup": True}},
        supervisord={"user": "1000"},
        unix_http_server={"chown": "svc:grp"},
    )
    assert cfg.airflow.exitcodes == [0, 2, 255]
    assert "user=svc-feed" in cfg.to_conf()
    no_groups = make(airflow={"stopasgroup": False, "killasgroup": False})
    assert "killasgroup=false" in no_groups.to_conf()


def test_airflow_password_and_username_come_together() -> None:
    with pytest.raises(ValidationError, match=r"airflow\.password is set without airflow\.username"):
        AirflowConfiguration(password="pw")
    with pytest.raises(ValidationError, match=r"airflow\.username is set without airflow\.password"):
        AirflowConfiguration(username="ops")
    # with a connection the credentials come from there
    assert AirflowConfiguration(xmlrpc_conn_id="rpc").password is None
    assert AirflowConfiguration(username="ops", xmlrpc_conn_id="rpc").username == "ops"
