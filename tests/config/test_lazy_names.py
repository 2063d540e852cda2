"""``airflow_supervisor_async.config`` (and the package root) import their models on first use: every public
name still resolves, to the object its submodule defines."""

from __future__ import annotations

import subprocess
import sys
from importlib import import_module

import airflow_supervisor_async
from airflow_supervisor_async import config


def test_every_public_name_resolves_to_its_submodules_object() -> None:
    assert set(config.__all__) == set(config._DEFINED_IN)
    for name, module in config._DEFINED_IN.items():
        defined = getattr(import_module(f"airflow_supervisor_async.config.{module}"), name)
        assert getattr(config, name) is defined
        assert getattr(airflow_supervisor_async, name) is defined
    assert set(config.__all__) <= set(airflow_supervisor_async.__all__)


def test_star_import_gives_the_models() -> None:
    namespace: dict[str, object] = {}
    exec("from airflow_supervisor_async.config import *", namespace)
    assert namespace["SupervisorAirflowConfiguration"] is config.SupervisorAirflowConfiguration


def test_importing_the_package_builds_no_model() -> None:
    probe = "import sys, airflow_supervisor_async; print('pydantic' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "False"
