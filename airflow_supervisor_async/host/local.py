"""supervisord on this machine: plain filesystem calls and subprocesses."""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import sys
import tempfile
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

from ..config.files import atomic_write_text
from .base import CommandResult, FileInfo, HostCommandError, HostIdentity, ProcessInfo

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .base import FileKind

__all__ = ("LocalHost", "file_info")


def file_info(st: os.stat_result) -> FileInfo:
    """``FileInfo`` of an ``lstat`` result."""
    kind: FileKind = "other"
    if stat.S_ISLNK(st.st_mode):
        kind = "symlink"
    elif stat.S_ISDIR(st.st_mode):
        kind = "dir"
    elif stat.S_ISREG(st.st_mode):
        kind = "file"
    elif stat.S_ISSOCK(st.st_mode):
        kind = "socket"
    return FileInfo(kind, st.st_uid, stat.S_IMODE(st.st_mode))


def _identity() -> HostIdentity:
    # other users' homes need no list: they are not ours, so the ownership check refuses them
    return HostIdentity(
        uid=os.getuid(),
        home=os.path.expanduser("~"),
        cwd=os.getcwd(),
        temp_roots=frozenset({"/tmp", "/var/tmp", "/dev/shm", tempfile.gettempdir()}),
    )


def _lstat(path: str) -> FileInfo | None:
    try:
        return file_info(os.lstat(path))
    except FileNotFoundError:
        return None


def _list_dir(path: str) -> list[tuple[str, FileInfo]]:
    listed = []
    with os.scandir(path) as entries:
        for entry in entries:
            try:
                listed.append((entry.name, file_info(entry.stat(follow_symlinks=False))))
            except FileNotFoundError:
                continue  # removed while listing (an older lease generation, another writer's temp file)
    return listed


def _make_dir(path: str, mode: int) -> bool:
    try:
        os.mkdir(path, mode)
    except FileExistsError:
        return False
    os.chmod(path, mode, follow_symlinks=False)  # the umask may have narrowed it
    return True


def _write_exclusive(path: Path, text: str, mode: int) -> None:
    # complete or absent: written aside, then hard-linked into place (link fails if the name exists)
    temp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    atomic_write_text(temp, text, mode)
    try:
        os.link(temp, path)
    finally:
        os.unlink(temp)


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def _remove_file(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _remove_dir(path: str) -> bool:
    try:
        os.rmdir(path)
    except (FileNotFoundError, OSError):
        return False
    return True


def _process(pid: int) -> ProcessInfo | None:
    try:
        uid = os.stat(f"/proc/{pid}").st_uid
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            raw = handle.read()
    except (FileNotFoundError, ProcessLookupError, NotADirectoryError):
        return None
    args = raw.rstrip(b"\0").replace(b"\0", b" ").decode(errors="replace")
    return ProcessInfo(uid, args) if args else None  # a zombie has no command line


class LocalHost:
    """The host this process runs on (Linux: processes are looked up in ``/proc``)."""

    description = "localhost"

    def __init__(self) -> None:
        self._identity: HostIdentity | None = None

    def supervisord_argv(self, config_path: PurePath) -> list[str]:
        # The interpreter running us has the supervisor package: no PATH lookup needed.
        return [sys.executable, "-m", "supervisor.supervisord", "-c", str(config_path)]

    async def run(self, argv: Sequence[str], *, timeout: float = 60.0) -> CommandResult:
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
            )
        except OSError as exc:
            raise HostCommandError(f"cannot run {argv[0]!r} on {self.description}: {exc}") from exc
        try:
            out, err = await asyncio.wait_for(proc.communicate(), timeout)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            raise HostCommandError(f"{argv[0]!r} on {self.description} did not finish within {timeout:g} s") from None
        return CommandResult(proc.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace"))

    async def identity(self) -> HostIdentity:
        if self._identity is None:
            self._identity = await asyncio.to_thread(_identity)
        return self._identity

    async def lstat(self, path: PurePath) -> FileInfo | None:
        return await asyncio.to_thread(_lstat, str(path))

    async def list_dir(self, path: PurePath) -> list[tuple[str, FileInfo]]:
        return await asyncio.to_thread(_list_dir, str(path))

    async def make_dir(self, path: PurePath, *, mode: int = 0o700) -> bool:
        return await asyncio.to_thread(_make_dir, str(path), mode)

    async def write_file(self, path: PurePath, text: str, *, mode: int, exclusive: bool = False) -> None:
        write = _write_exclusive if exclusive else atomic_write_text
        await asyncio.to_thread(write, Path(path), text, mode)

    async def read_file(self, path: PurePath) -> str | None:
        return await asyncio.to_thread(_read, str(path))

    async def remove_file(self, path: PurePath) -> None:
        await asyncio.to_thread(_remove_file, str(path))

    async def remove_dir(self, path: PurePath) -> bool:
        return await asyncio.to_thread(_remove_dir, str(path))

    async def process(self, pid: int) -> ProcessInfo | None:
        return await asyncio.to_thread(_process, pid)

    async def close(self) -> None:
        return None
