"""supervisord on this machine: plain filesystem calls and subprocesses."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sys
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

from ..config.files import atomic_write_text
from .base import CommandResult, HostCommandError

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ("LocalHost",)


def _remove(target: Path) -> None:
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    else:
        with contextlib.suppress(FileNotFoundError):
            target.unlink()


class LocalHost:
    """The host this process runs on."""

    description = "localhost"

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

    async def write_file(self, path: PurePath, text: str, *, mode: int) -> None:
        await asyncio.to_thread(atomic_write_text, Path(path), text, mode)

    async def read_file(self, path: PurePath) -> str | None:
        try:
            return await asyncio.to_thread(Path(path).read_text, encoding="utf-8")
        except FileNotFoundError:
            return None

    async def make_dirs(self, paths: Sequence[PurePath], *, mode: int = 0o700) -> None:
        for path in paths:
            await asyncio.to_thread(Path(path).mkdir, mode=mode, parents=True, exist_ok=True)

    async def remove_tree(self, path: PurePath) -> None:
        await asyncio.to_thread(_remove, Path(path))

    async def close(self) -> None:
        return None
