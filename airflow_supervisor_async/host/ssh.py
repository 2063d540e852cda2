"""supervisord on another host: commands over SSH (every argument shell-quoted), files over SFTP."""

from __future__ import annotations

import contextlib
import secrets
import shlex
from pathlib import PurePath, PurePosixPath
from typing import TYPE_CHECKING

import asyncssh

from .base import CommandResult, HostCommandError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..config import SSHConfiguration
    from ..ssh import SSHLease

__all__ = ("SSHHost",)


class SSHHost:
    """A remote host reached through the pooled SSH connection of the running event loop.

    :param ssh: how to reach the host.
    :param command_prefix: shell text put before every command (e.g. ``source venv/bin/activate &&``);
        it is the only part not quoted, on purpose.
    """

    def __init__(self, ssh: SSHConfiguration, *, command_prefix: str = "") -> None:
        self.ssh = ssh
        self.command_prefix = command_prefix.strip()
        target = f"{ssh.username + '@' if ssh.username else ''}{ssh.host or 'conn:' + str(ssh.ssh_conn_id)}"
        self.description = f"{target}:{ssh.port}"
        self._lease: SSHLease | None = None

    async def _connection(self) -> asyncssh.SSHClientConnection:
        if self._lease is None:
            from ..ssh import get_pool

            self._lease = get_pool().lease(self.ssh)
        return await self._lease.connection()

    def supervisord_argv(self, config_path: PurePath) -> list[str]:
        return ["supervisord", "-c", str(config_path)]

    async def run(self, argv: Sequence[str], *, timeout: float = 60.0) -> CommandResult:
        command = shlex.join(argv)
        if self.command_prefix:
            command = f"{self.command_prefix} {command}"
        conn = await self._connection()
        try:
            result = await conn.run(command, check=False, timeout=timeout)
        except asyncssh.ProcessError as exc:  # timeout: the remote command is left behind, say so
            raise HostCommandError(f"{argv[0]!r} on {self.description} did not finish within {timeout:g} s") from exc
        except (OSError, asyncssh.Error) as exc:
            raise HostCommandError(f"cannot run {argv[0]!r} on {self.description}: {exc}") from exc
        returncode = result.exit_status if result.exit_status is not None else 255

        def text(data: object) -> str:
            return data.decode(errors="replace") if isinstance(data, bytes) else str(data or "")

        return CommandResult(returncode, text(result.stdout), text(result.stderr))

    async def write_file(self, path: PurePath, text: str, *, mode: int) -> None:
        conn = await self._connection()
        target = PurePosixPath(path)
        temp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
        async with conn.start_sftp_client() as sftp:
            attrs = asyncssh.SFTPAttrs(permissions=mode)
            try:
                async with sftp.open(str(temp), "w", attrs=attrs) as handle:
                    await handle.write(text)
                await sftp.chmod(str(temp), mode)  # the remote umask may have narrowed or widened it
                await sftp.posix_rename(str(temp), str(target))
            except BaseException:
                with contextlib.suppress(OSError, asyncssh.SFTPError):
                    await sftp.remove(str(temp))
                raise

    async def read_file(self, path: PurePath) -> str | None:
        conn = await self._connection()
        async with conn.start_sftp_client() as sftp:
            try:
                async with sftp.open(str(path), "r") as handle:
                    data = await handle.read()
            except asyncssh.SFTPNoSuchFile:
                return None
        return data.decode(errors="replace") if isinstance(data, bytes) else str(data)

    async def make_dirs(self, paths: Sequence[PurePath], *, mode: int = 0o700) -> None:
        for path in paths:
            result = await self.run(["mkdir", "-p", "-m", f"{mode:o}", str(path)])
            if result.returncode != 0:
                raise HostCommandError(f"cannot create {path} on {self.description}: {result.stderr.strip()}")

    async def remove_tree(self, path: PurePath) -> None:
        result = await self.run(["rm", "-rf", "--", str(path)])
        if result.returncode != 0:
            raise HostCommandError(f"cannot remove {path} on {self.description}: {result.stderr.strip()}")

    async def close(self) -> None:
        lease, self._lease = self._lease, None
        if lease is not None:
            await lease.release()
