"""supervisord on another host: commands over SSH (every argument shell-quoted), files over SFTP (lstat-based,
never following a symlink)."""

from __future__ import annotations

import contextlib
import secrets
import shlex
import stat
from pathlib import PurePath, PurePosixPath
from typing import TYPE_CHECKING

import asyncssh

from .base import CommandResult, FileInfo, HostCommandError, HostIdentity, ProcessInfo

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..config import SSHConfiguration
    from ..ssh import SSHLease
    from .base import FileKind

__all__ = ("SSHHost",)

_KINDS: dict[int, FileKind] = {
    stat.S_IFDIR: "dir",
    stat.S_IFREG: "file",
    stat.S_IFLNK: "symlink",
    stat.S_IFSOCK: "socket",
}


def _info(attrs: asyncssh.SFTPAttrs) -> FileInfo:
    mode = attrs.permissions or 0
    uid = attrs.uid if attrs.uid is not None else -1
    return FileInfo(_KINDS.get(stat.S_IFMT(mode), "other"), uid, stat.S_IMODE(mode))


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
        self._sftp: asyncssh.SFTPClient | None = None
        self._identity: HostIdentity | None = None

    async def _connection(self) -> asyncssh.SSHClientConnection:
        if self._lease is None:
            from ..ssh import get_pool

            self._lease = get_pool().lease(self.ssh)
        return await self._lease.connection()

    async def _sftp_client(self) -> asyncssh.SFTPClient:
        """One SFTP session per host object, opened on first use."""
        if self._sftp is None:
            conn = await self._connection()
            try:
                self._sftp = await conn.start_sftp_client()
            except asyncssh.ChannelOpenError as exc:
                raise HostCommandError(
                    f"the SFTP subsystem is not available on {self.description} ({exc.reason}): the configure and "
                    "cleanup steps use it to check and write files without following symlinks; enable it in the "
                    "host's sshd_config (`Subsystem sftp internal-sftp`)"
                ) from None
        return self._sftp

    def _failed(self, what: str, path: PurePath, exc: Exception) -> HostCommandError:
        reason = exc.reason if isinstance(exc, asyncssh.SFTPError) else str(exc)
        return HostCommandError(f"cannot {what} {path} on {self.description}: {reason}")

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

    async def identity(self) -> HostIdentity:
        if self._identity is None:
            sftp = await self._sftp_client()
            result = await self.run(["id", "-u"], timeout=30)
            if result.returncode != 0 or not result.stdout.strip().isdecimal():
                raise HostCommandError(f"cannot tell the user id on {self.description}: {result.stderr.strip()}")
            home = await sftp.realpath(".")  # SFTP sessions start in the login directory
            home = home.decode() if isinstance(home, bytes) else home
            self._identity = HostIdentity(uid=int(result.stdout), home=home, cwd=home)
        return self._identity

    async def lstat(self, path: PurePath) -> FileInfo | None:
        sftp = await self._sftp_client()
        try:
            return _info(await sftp.lstat(str(path)))
        except asyncssh.SFTPNoSuchFile:
            return None
        except asyncssh.SFTPError as exc:
            raise self._failed("inspect", path, exc) from None

    async def list_dir(self, path: PurePath) -> list[tuple[str, FileInfo]]:
        sftp = await self._sftp_client()
        try:
            names = await sftp.readdir(str(path))  # OpenSSH reports each entry as lstat sees it
        except asyncssh.SFTPError as exc:
            raise self._failed("list", path, exc) from None
        entries = []
        for name in names:
            filename = name.filename.decode() if isinstance(name.filename, bytes) else name.filename
            if filename not in (".", ".."):
                entries.append((filename, _info(name.attrs)))
        return entries

    async def make_dir(self, path: PurePath, *, mode: int = 0o700) -> bool:
        sftp = await self._sftp_client()
        try:
            await sftp.mkdir(str(path), asyncssh.SFTPAttrs(permissions=mode))
        except asyncssh.SFTPError as exc:
            if await self.lstat(path) is not None:
                return False
            raise self._failed("create", path, exc) from None
        await sftp.chmod(str(path), mode)  # the remote umask may have narrowed it
        return True

    async def write_file(self, path: PurePath, text: str, *, mode: int, exclusive: bool = False) -> None:
        sftp = await self._sftp_client()
        target = PurePosixPath(path)
        temp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
        try:
            async with sftp.open(str(temp), "x", attrs=asyncssh.SFTPAttrs(permissions=mode)) as handle:
                await handle.write(text)
            await sftp.chmod(str(temp), mode)  # the remote umask may have narrowed or widened it
            if exclusive:
                try:
                    await sftp.link(str(temp), str(target))  # fails when the name exists: one writer wins
                except asyncssh.SFTPError:
                    if await self.lstat(target) is not None:
                        raise FileExistsError(str(target)) from None
                    raise
            else:
                await sftp.posix_rename(str(temp), str(target))
        except asyncssh.SFTPError as exc:
            raise self._failed("write", target, exc) from None
        finally:
            with contextlib.suppress(asyncssh.SFTPError):
                await sftp.remove(str(temp))

    async def read_file(self, path: PurePath) -> str | None:
        sftp = await self._sftp_client()
        try:
            async with sftp.open(str(path), "rb") as handle:
                data = await handle.read()
        except asyncssh.SFTPNoSuchFile:
            return None
        except asyncssh.SFTPError as exc:
            raise self._failed("read", path, exc) from None
        return data.decode(errors="replace") if isinstance(data, bytes) else str(data)

    async def remove_file(self, path: PurePath) -> None:
        sftp = await self._sftp_client()
        try:
            await sftp.remove(str(path))  # SSH_FXP_REMOVE unlinks the link itself
        except asyncssh.SFTPNoSuchFile:
            return
        except asyncssh.SFTPError as exc:
            raise self._failed("remove", path, exc) from None

    async def remove_dir(self, path: PurePath) -> bool:
        sftp = await self._sftp_client()
        try:
            await sftp.rmdir(str(path))
        except asyncssh.SFTPError:
            return False
        return True

    async def process(self, pid: int) -> ProcessInfo | None:
        result = await self.run(["ps", "-o", "uid=,args=", "-p", str(pid)], timeout=30)
        fields = result.stdout.strip().split(None, 1)
        if result.returncode != 0 or len(fields) != 2 or not fields[0].isdecimal():
            return None
        return ProcessInfo(int(fields[0]), fields[1])

    async def close(self) -> None:
        sftp, self._sftp = self._sftp, None
        if sftp is not None:
            sftp.exit()
        lease, self._lease = self._lease, None
        if lease is not None:
            await lease.release()
