"""The Airflow provider registration: ``get_provider_info()`` as Airflow validates and uses it.

Airflow reads the ``apache_airflow_provider`` entry point of every installed distribution, validates the
returned dict against ``provider_info.schema.json`` (shipped in the airflow package) and refuses a
``package-name`` that is not the distribution's name. The entry point is written into the installed
package's metadata at install time: if ``test_the_entry_point_is_installed`` fails after the entry point
was added or changed, reinstall (``bash scripts/setup.sh`` does, or
``uv pip install --python .venv/bin/python -e '.[airflow,test]'``).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import json
import pkgutil
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import airflow_supervisor_async
from airflow_supervisor_async.provider import get_provider_info
from tests.support.airflow import AirflowHome, CommandResult

DISTRIBUTION = "airflow-supervisor-async"
ENTRY_POINT = "airflow_supervisor_async.provider:get_provider_info"
# provider-info section -> (package folder, base class every listed module must define a subclass of)
KINDS: dict[str, tuple[str, str]] = {
    "operators": ("operators", "airflow.sdk.BaseOperator"),
    "sensors": ("sensors", "airflow.sdk.BaseSensorOperator"),
    "triggers": ("triggers", "airflow.triggers.base.BaseTrigger"),
    "hooks": ("hooks", "airflow.sdk.BaseHook"),
}


def _listed_modules() -> list[tuple[str, str]]:
    """``(section, module)`` for every python module the provider info names."""
    info = get_provider_info()
    return [(kind, module) for kind in KINDS for entry in info.get(kind, []) for module in entry["python-modules"]]


def _load_class(path: str) -> type:
    module, _, name = path.rpartition(".")
    found = getattr(importlib.import_module(module), name)
    assert isinstance(found, type), path
    return found


def _json_output(result: CommandResult) -> Any:
    lines = [line for line in result.output.splitlines() if line.startswith(("[", "{"))]
    assert lines, result.describe()
    return json.loads(lines[-1])


def test_the_entry_point_is_installed() -> None:
    dist = importlib.metadata.distribution(DISTRIBUTION)
    entry_points = [ep for ep in dist.entry_points if ep.group == "apache_airflow_provider"]
    assert [ep.value for ep in entry_points] == [ENTRY_POINT], (
        f"{DISTRIBUTION} is installed without (or with another) apache_airflow_provider entry point; "
        "reinstall it: bash scripts/setup.sh"
    )
    assert entry_points[0].load() is get_provider_info


def test_package_name_and_version_are_the_distributions() -> None:
    """Airflow raises (and lists no provider) when ``package-name`` differs from the distribution's name."""
    info = get_provider_info()
    dist = importlib.metadata.distribution(DISTRIBUTION)
    canonical = re.sub(r"[-_.]+", "-", dist.metadata["Name"]).lower()
    assert info["package-name"] == canonical
    assert info["versions"][0] == dist.version == airflow_supervisor_async.__version__


@pytest.mark.airflow
@pytest.mark.airflow31
def test_provider_info_is_valid_by_airflows_own_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    spec = importlib.util.find_spec("airflow")
    assert spec is not None
    assert spec.submodule_search_locations
    schema_file = Path(next(iter(spec.submodule_search_locations))) / "provider_info.schema.json"
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)(schema)  # as Airflow's ProvidersManager does
    info = get_provider_info()
    errors = sorted(validator.iter_errors(info), key=lambda error: list(error.path))
    assert not errors, "\n".join(f"{list(error.path)}: {error.message}" for error in errors)
    assert set(schema.get("required", [])) <= set(info)
    # names used across sections refer to a declared integration
    integrations = {entry["integration-name"] for entry in info["integrations"]}
    for kind in KINDS:
        for entry in info.get(kind, []):
            assert entry["integration-name"] in integrations, (kind, entry)


@pytest.mark.airflow
@pytest.mark.airflow31
@pytest.mark.parametrize(("kind", "module"), _listed_modules())
def test_every_listed_module_imports_and_holds_its_kind(kind: str, module: str) -> None:
    base = _load_class(KINDS[kind][1])
    imported = importlib.import_module(module)
    defined = [
        obj
        for obj in vars(imported).values()
        if isinstance(obj, type) and obj.__module__ == module and issubclass(obj, base)
    ]
    assert defined, f"{module} (listed under {kind}) defines no {base.__name__}"


@pytest.mark.airflow
def test_every_module_defining_an_operator_sensor_trigger_or_hook_is_listed() -> None:
    """A module added to one of these folders with such a class is added to the provider info too
    (``base`` modules with the abstract step classes excepted)."""
    listed = set(_listed_modules())
    package = Path(airflow_supervisor_async.__file__).parent
    for kind, (folder, base_path) in KINDS.items():
        base = _load_class(base_path)
        for found in pkgutil.iter_modules([str(package / folder)]):
            name = f"airflow_supervisor_async.{folder}.{found.name}"
            if found.ispkg or found.name == "base":
                continue
            module = importlib.import_module(name)
            if any(
                isinstance(obj, type) and obj.__module__ == name and issubclass(obj, base)
                for obj in vars(module).values()
            ):
                assert (kind, name) in listed, f"{name} defines {kind} but is not in get_provider_info()[{kind!r}]"


@pytest.mark.slow
@pytest.mark.airflow
def test_airflow_providers_list_shows_the_project(tmp_path: Path) -> None:
    home = AirflowHome(tmp_path / "airflow-home")  # the providers commands need no metadata DB
    home.path.mkdir()
    with ThreadPoolExecutor(2) as pool:
        providers_call = pool.submit(home.run_cli, "providers", "list", "--output", "json")
        triggers_call = pool.submit(home.run_cli, "providers", "triggers", "--output", "json")
        providers, triggers = providers_call.result(), triggers_call.result()
    info = get_provider_info()
    ours = [row for row in _json_output(providers) if row["package_name"] == DISTRIBUTION]
    assert len(ours) == 1, providers.describe()
    assert ours[0]["version"] == importlib.metadata.version(DISTRIBUTION)
    assert ours[0]["description"].rstrip(".") == info["description"].rstrip(".")
    listed_triggers = {row["class"] for row in _json_output(triggers) if row["package_name"] == DISTRIBUTION}
    assert listed_triggers == {module for kind, module in _listed_modules() if kind == "triggers"}, triggers.describe()
