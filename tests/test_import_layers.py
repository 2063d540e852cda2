"""The package's layers: a module imports only from its own layer or the layers below it.

A newcomer reads the layers bottom-up: the typed configuration knows nothing of the client, the client
nothing of hosts, hosts nothing of Airflow's hooks, and only the Airflow-facing packages at the top see
operators and sensors. An import against the direction fails here with where it is and what to do.
"""

from __future__ import annotations

import ast
from pathlib import Path, PurePosixPath

import airflow_supervisor_async

PACKAGE = Path(airflow_supervisor_async.__file__).parent

#: bottom to top; a module may import from its own layer and any layer listed before it
LAYERS: list[set[str]] = [
    {"errors", "slots", "version_compat", "__version__"},
    {"config", "compat"},
    {"ssh"},
    {"client"},
    {"host", "status", "decisions"},
    {"hooks"},
    {"sync", "triggers"},
    {"operators"},
    {"sensors"},
    {"dags"},
    {"plugins", "cli", "provider", "__init__"},
]

#: (module, imported part) pairs allowed against the direction, and why
UPWARD_ALLOWED = {
    # airflow-supervisor's blocking controls on the config object (cfg.write(), cfg.start(), ...): imported
    # inside the methods, so that the configuration models load without the client or host code
    ("config/airflow.py", "host"),
    ("config/control.py", "host"),
    ("config/control.py", "sync"),
}


def _layer(part: str) -> int:
    for index, members in enumerate(LAYERS):
        if part in members:
            return index
    raise AssertionError(f"{part!r} is in no layer of {__name__}.LAYERS: add it where it belongs")


def _part_of(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imported_parts(source: str, rel: PurePosixPath) -> set[str]:
    """The package's top-level parts that the module at ``rel`` imports (relative or absolute, wherever the
    import is: inside functions and under TYPE_CHECKING too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source, str(rel))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = list(rel.parts[:-1])[: len(rel.parts) - node.level]
            names = [*base, *(node.module.split(".") if node.module else [])]
            found.add(names[0] if names else node.names[0].name)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("airflow_supervisor_async."):
            found.add((node.module or "").split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("airflow_supervisor_async."))
    return found


def test_every_part_of_the_package_is_in_a_layer() -> None:
    parts = {_part_of(p) for p in PACKAGE.rglob("*.py")}
    for part in parts:
        _layer(part)


def test_imports_go_down_the_layers() -> None:
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        part, where = _part_of(path), path.relative_to(PACKAGE).as_posix()
        for imported in _imported_parts(path.read_text(), PurePosixPath(where)) - {part}:
            if _layer(imported) > _layer(part) and (where, imported) not in UPWARD_ALLOWED:
                wrong.append(f"{where} imports {imported} (layer {_layer(imported)} > {part}'s {_layer(part)})")
    assert not wrong, "imports against the layers (tests/test_import_layers.py explains them):\n" + "\n".join(wrong)


def test_the_check_sees_upward_imports() -> None:
    """The checker itself: relative, absolute and function-level imports of a higher layer are all found."""
    source = (
        "from ..client import SupervisorClient\n"
        "import airflow_supervisor_async.operators.base\n"
        "def f():\n    from airflow_supervisor_async.hooks import ssh\n    from . import sections\n"
    )
    assert _imported_parts(source, PurePosixPath("config/probe.py")) == {"client", "operators", "hooks", "config"}
    assert _imported_parts("from .. import errors\n", PurePosixPath("client/x.py")) == {"errors"}
    assert _imported_parts("from .errors import E\n", PurePosixPath("sync.py")) == {"errors"}
    assert all(_layer(p) > _layer("config") for p in ("client", "operators", "hooks"))


def _private_airflow_imports(source: str, where: str) -> list[str]:
    """Imports of Airflow modules Airflow keeps private (a path part starting with ``_``, e.g. ``_internal``)."""
    found = []
    for node in ast.walk(ast.parse(source, where)):
        modules = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and not node.level:
            modules = [node.module or ""]
        found += [f"{where}: {m}" for m in modules if m.split(".")[0] == "airflow" and "._" in m]
    return found


def test_no_private_airflow_module_is_imported() -> None:
    """Airflow may move ``airflow.sdk.definitions._internal`` and the like in any release; the public
    ``airflow.sdk`` (and the providers' compat layer) is what both supported Airflow versions keep."""
    wrong = [w for p in sorted(PACKAGE.rglob("*.py")) for w in _private_airflow_imports(p.read_text(), str(p))]
    assert not wrong, "private Airflow modules imported:\n" + "\n".join(wrong)
    probe = "from airflow.sdk.definitions._internal.mixins import DependencyMixin\nimport airflow.sdk\n"
    assert _private_airflow_imports(probe, "probe.py") == ["probe.py: airflow.sdk.definitions._internal.mixins"]
