"""The interface every host implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import PurePath

__all__ = ("CommandResult", "Host", "HostCommandError")


@dataclass(frozen=True)
class CommandResult:
    """Exit status and output of one command."""

    returncode: int
    stdout: str
    stderr: str


class HostCommandError(RuntimeError):
    """A command on the host failed or could not run."""


class Host(Protocol):
    """Filesystem and process operations on the host that runs supervisord.

    Paths are paths on that host. Every method is idempotent where the operation allows it.
    """

    description: str

    def supervisord_argv(self, config_path: PurePath) -> list[str]:
        """The command that starts supervisord (daemonizing) with ``config_path``."""
        ...

    async def run(self, argv: Sequence[str], *, timeout: float = 60.0) -> CommandResult:
        """Run ``argv`` (no shell on the local side; every argument shell-quoted over SSH)."""
        ...

    async def write_file(self, path: PurePath, text: str, *, mode: int) -> None:
        """Write ``text`` atomically (temp file + rename), created with ``mode``."""
        ...

    async def read_file(self, path: PurePath) -> str | None:
        """The file's text, or None if it does not exist."""
        ...

    async def make_dirs(self, paths: Sequence[PurePath], *, mode: int = 0o700) -> None:
        """Create directories (and parents); existing ones are left as they are."""
        ...

    async def remove_tree(self, path: PurePath) -> None:
        """Remove a directory tree or file; a missing one is fine."""
        ...

    async def close(self) -> None:
        """Release connections held by this host object."""
        ...
