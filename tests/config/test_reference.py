"""The README's configuration reference is generated from the models, never written twice."""

from __future__ import annotations

from pathlib import Path

from airflow_supervisor_async.config.reference import BEGIN, END, markdown_reference

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_reference_matches_the_models() -> None:
    text = README.read_text(encoding="utf-8")
    block = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert block == markdown_reference().strip(), (
        "README.md is stale: run python -m airflow_supervisor_async.config.reference README.md"
    )


def test_every_airflow_option_is_documented() -> None:
    reference = markdown_reference()
    for option in (
        "check_interval",
        "max_restarts",
        "airflow.port",
        "airflow.xmlrpc_conn_id",
        "ssh.check_host_key",
        "command_prefix",
        "stopsignal",
        "environment",
    ):
        assert f"`{option}`" in reference
