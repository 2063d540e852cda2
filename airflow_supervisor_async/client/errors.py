"""The client's exceptions: defined in ``airflow_supervisor_async.errors`` (shared with ``ssh/``), re-exported here."""

from ..errors import *  # noqa: F403
from ..errors import __all__ as __all__
