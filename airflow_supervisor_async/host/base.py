"""The interface every host implements: a few filesystem and process primitives, none of which follows a symlink.

The rules built on them (what may be created, trusted, signalled or deleted) live in ``safety`` and
``lifecycle``, once for both hosts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import PurePath

__all__ = ("CommandResult", "FileInfo", "Host", "HostCommandError", "HostIdentity", "ProcessInfo")

FileKind = Literal["dir", "file", "symlink", "socket", "other"]


@dataclass(frozen=True)
class CommandResult:
    """Exit status and output of one command."""

    returncode: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class FileInfo:
    """What ``lstat`` says about a path (the link itself for a symlink)."""

    kind: FileKind
    uid: int
    mode: int  #: permission bits only (``stat.S_IMODE``)


@dataclass(frozen=True)
class HostIdentity:
    """Who we are on the host and which folders are never a job's to delete."""

    uid: int
    home: str  #: our home (login) directory
    cwd: str  #: the current directory of the process that acts (the login directory over SSH)
    temp_roots: frozenset[str] = frozenset({"/tmp", "/var/tmp", "/dev/shm"})


@dataclass(frozen=True)
class ProcessInfo:
    """Owner and command line (arguments joined by spaces) of a running process."""

    uid: int
    args: str


class HostCommandError(RuntimeError):
    """A command on the host failed or could not run."""


class Host(Protocol):
    """Filesystem and process operations on the host that runs supervisord.

    Paths are absolute paths on that host. No method follows a symlink at the path it is given.
    """

    description: str

    def supervisord_argv(self, config_path: PurePath) -> list[str]:
        """The command that starts supervisord (daemonizing) with ``config_path``."""
        ...

    async def run(self, argv: Sequence[str], *, timeout: float = 60.0) -> CommandResult:
        """Run ``argv`` (no shell on the local side; every argument shell-quoted over SSH)."""
        ...

    async def identity(self) -> HostIdentity:
        """Our uid, home and current directory on the host (looked up once per host object)."""
        ...

    async def lstat(self, path: PurePath) -> FileInfo | None:
        """What is at ``path`` (not following a symlink), or None if nothing is."""
        ...

    async def list_dir(self, path: PurePath) -> list[tuple[str, FileInfo]]:
        """The entries of directory ``path`` (names without ``.``/``..``), each as ``lstat`` sees it."""
        ...

    async def make_dir(self, path: PurePath, *, mode: int = 0o700) -> bool:
        """Create one directory with exactly ``mode``; False if something already was at ``path``."""
        ...

    async def write_file(self, path: PurePath, text: str, *, mode: int, exclusive: bool = False) -> None:
        """Write ``text`` atomically (temp file + rename), created with ``mode``.

        With ``exclusive`` the file must not exist yet (``FileExistsError`` otherwise): it appears complete
        or not at all, and of two writers exactly one succeeds.
        """
        ...

    async def read_file(self, path: PurePath) -> str | None:
        """The file's text, or None if it does not exist."""
        ...

    async def remove_file(self, path: PurePath) -> None:
        """Unlink a file, socket or symlink (never what a symlink points to); a missing one is fine."""
        ...

    async def remove_dir(self, path: PurePath) -> bool:
        """Remove an empty directory; False if it is not empty or missing."""
        ...

    async def process(self, pid: int) -> ProcessInfo | None:
        """Owner and command line of process ``pid``, or None if there is none."""
        ...

    async def close(self) -> None:
        """Release connections held by this host object."""
        ...
