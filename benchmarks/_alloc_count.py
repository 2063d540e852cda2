"""Objects allocated by this process (CPython's object-domain allocator), for benchmarks.

``install()`` compiles ``_alloc_counter.c`` (a few lines that wrap the running allocator, as
``tracemalloc`` does) with the system C compiler into a temp dir, loads it and starts counting;
``count()`` is the number of object allocations since. Without a C compiler both return None and the
benchmarks print "n/a". Counting costs a function call per allocation: measure time in another run.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sysconfig
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types import ModuleType

__all__ = ("count", "install")

_SOURCE = Path(__file__).resolve().with_name("_alloc_counter.c")
_module: ModuleType | None = None


def install() -> bool:
    """Compile, load and start the counter; False (and no counting) when there is no C compiler."""
    global _module
    if _module is not None:
        return True
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return False
    target = Path(tempfile.mkdtemp(prefix="alloc-counter-")) / f"_alloc_counter{sysconfig.get_config_var('EXT_SUFFIX')}"
    include = sysconfig.get_paths()["include"]
    built = subprocess.run(
        [compiler, "-O2", "-shared", "-fPIC", f"-I{include}", "-o", str(target), str(_SOURCE)],
        capture_output=True,
        check=False,
    )
    if built.returncode != 0:
        return False
    spec = importlib.util.spec_from_file_location("_alloc_counter", target)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.install()
    shutil.rmtree(target.parent, ignore_errors=True)  # loaded: the file is no longer needed
    _module = module
    return True


def count() -> int | None:
    """Object allocations since ``install()``, or None if the counter is not installed."""
    return None if _module is None else int(_module.count())
