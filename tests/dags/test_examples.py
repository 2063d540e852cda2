"""Every DAG file a reader is shown -- examples/ and the demo's -- builds the ten steps, in a fresh interpreter.

examples/ and the demo are written for people (comments, one idea each), so they are not generated; this
keeps them from rotting: a renamed option or import fails here, not in a user's dag-processor.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("airflow")

from airflow_supervisor_async.cli import demo
from tests.dags.test_structure import TEN_STEPS

pytestmark = [pytest.mark.airflow, pytest.mark.airflow31, pytest.mark.slow]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

TEN = [step for step, _ in TEN_STEPS]  # written out in test_structure, not taken from the code under test

PARSE = """
import json, runpy, sys
out = {}
for path in sys.argv[1:]:
    dag = runpy.run_path(path)["dag"]
    out[path] = [dag.dag_id, sorted(dag.task_dict), dag.max_active_runs]
print(json.dumps(out))
"""


def test_examples_and_the_demo_dag_build_the_ten_steps(tmp_path: Path) -> None:
    demo_dag = tmp_path / "demo_dag.py"
    demo_dag.write_text(demo.DAG_SOURCE.format(working_dir=str(tmp_path / "work"), dag_id=demo.DAG_ID))
    paths = [*sorted(EXAMPLES.glob("*_dag.py")), demo_dag]
    assert len(paths) >= 5, paths  # the four examples and the demo
    out = subprocess.run(
        [sys.executable, "-c", PARSE, *map(str, paths)], capture_output=True, text=True, timeout=180, check=False
    )
    assert out.returncode == 0, out.stderr[-3000:]
    built = json.loads(out.stdout.strip().splitlines()[-1])
    for path in paths:
        dag_id, task_ids, max_active_runs = built[str(path)]
        assert task_ids == sorted(f"{dag_id}-{step}" for step in TEN), path.name
        assert max_active_runs == 1, path.name
    assert not (tmp_path / "work").exists()  # building a DAG writes nothing
