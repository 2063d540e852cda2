"""A job's blocking controls for scripts: ``cfg.write()``, then ``start()``, ``running()``, ``stop()``,
``kill()``, ``remove()`` -- airflow-supervisor's methods, run by this package's host steps.

Each runs the async step (``host.lifecycle``) in a fresh event loop, on the worker's host or over
SSH for remote jobs, with the same safety rules as the Airflow tasks (see ``host.lifecycle``): only
this job's supervisord is signalled, and ``remove()`` removes only what ``write()`` created.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from ..host import Host
    from .airflow import SupervisorAirflowConfiguration

__all__ = ("JobControl",)


def _run(cfg: SupervisorAirflowConfiguration, step: Callable[[Host], Awaitable[Any]]) -> Any:
    from ..host import make_host
    from ..sync import run_sync

    async def run() -> Any:
        host = make_host(cfg)
        try:
            return await step(host)
        finally:
            await host.close()

    return run_sync(run)


class JobControl:
    """Blocking controls of a job's supervisord (mixed into ``SupervisorAirflowConfiguration``)."""

    def _job(self) -> SupervisorAirflowConfiguration:
        return cast("SupervisorAirflowConfiguration", self)

    def start(self, *, timeout: float = 30.0) -> int:
        """Start supervisord with the written config (``write()`` first) unless it runs; return its pid.

        Waits up to ``timeout`` seconds for supervisord to come up. supervisord daemonizes: it keeps
        running after the script ends, until ``stop()``.
        """
        from ..host import lifecycle

        return int(_run(self._job(), lambda host: lifecycle.start_supervisord(host, self._job(), timeout=timeout)))

    def running(self) -> bool:
        """Whether this job's supervisord runs (its pid file names a process of yours running supervisord with
        this job's config file)."""
        from ..host import lifecycle

        return _run(self._job(), lambda host: lifecycle.supervisord_pid(host, self._job())) is not None

    def stop(self, *, timeout: float | None = None) -> bool:
        """Stop supervisord and its programs (SIGTERM; SIGKILL after ``timeout`` seconds, default the
        longest ``stopwaitsecs`` plus 15). Returns False if it was not running."""
        from ..host import lifecycle

        return bool(_run(self._job(), lambda host: lifecycle.stop_supervisord(host, self._job(), timeout=timeout)))

    def kill(self) -> bool:
        """SIGKILL supervisord and its programs' process groups at once. Returns False if it was not running."""
        from ..host import lifecycle

        return bool(_run(self._job(), lambda host: lifecycle.force_kill(host, self._job())))

    def remove(self) -> None:
        """Remove what ``write()`` created (as its manifest in ``working_dir`` lists it); raises
        ``HostCommandError`` while supervisord still runs, ``UnsafePathError`` (deleting nothing) for a folder
        the job did not set up."""
        from ..host import lifecycle

        _run(self._job(), lambda host: lifecycle.remove_config(host, self._job()))

    def rmdir(self) -> None:
        """airflow-supervisor's name of ``remove()``."""
        self.remove()
