"""The rules for touching files on a host: which folders a job may use, what it records, what it may delete.

- A job's folders (``working_dir``, the config file's folder) must be real folders (not symlinks) owned by
  the acting user and writable by nobody else; they are created with mode 0700 when missing.
- The configure step records what it creates in a manifest in ``working_dir`` that names the job; cleanup
  removes only what the manifest lists, walking trees with ``lstat`` (a symlink is unlinked, never followed).
- Never a job's to delete: ``/``, home directories, temp roots, the current directory, relative paths.

Same rules on every ``Host`` (local calls, or SFTP for remote hosts). No Airflow import.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import PurePath, PurePosixPath
from typing import TYPE_CHECKING, Any

from .base import HostCommandError

if TYPE_CHECKING:
    from .base import FileInfo, Host, HostIdentity

__all__ = (
    "MANIFEST_NAME",
    "Manifest",
    "UnsafePathError",
    "check_own_dir",
    "ensure_dir",
    "forbidden_reason",
    "read_manifest",
    "remove_tree",
    "write_manifest",
)

log = logging.getLogger(__name__)

#: The file in ``working_dir`` that lists what the configure step created, and for which job.
MANIFEST_NAME = ".airflow-supervisor-async.json"
_MANIFEST_VERSION = 1


class UnsafePathError(HostCommandError):
    """A path the job must not use, trust or delete. Nothing was changed."""


def forbidden_reason(path: PurePath, me: HostIdentity) -> str | None:
    """Why ``path`` can never be a job's folder (to write into or delete), or None."""
    if not path.is_absolute():
        return "is a relative path (it would depend on the current directory)"
    if ".." in path.parts:
        return "contains '..'"
    text = str(path).rstrip("/") or "/"
    if text == "/":
        return "is the root folder"
    if text == me.home.rstrip("/"):
        return "is a home directory"
    if text in me.temp_roots:
        return "is a temp root shared by every user"
    if text == me.cwd.rstrip("/"):
        return "is the current directory"
    return None


def check_own_dir(path: PurePath, info: FileInfo, me: HostIdentity, *, what: str, where: str) -> None:
    """Refuse a folder that is not a real folder of ours, writable by us only. Says what to fix."""
    if info.kind == "symlink":
        raise UnsafePathError(
            f"{what} {path} on {where} is a symlink; use the folder it points to (if it is yours), or another path"
        )
    if info.kind != "dir":
        raise UnsafePathError(f"{what} {path} on {where} exists and is not a folder; choose another path")
    if info.uid != me.uid:
        raise UnsafePathError(
            f"{what} {path} on {where} belongs to uid {info.uid}, not to you (uid {me.uid}): "
            "choose another path, or have its owner remove it"
        )
    if info.mode & 0o022:
        raise UnsafePathError(
            f"{what} {path} on {where} is writable by {'group and others' if info.mode & 0o002 else 'its group'} "
            f"(mode {info.mode:04o}), so others could swap its files: run `chmod go-w {path}` or use another path"
        )


async def ensure_dir(
    host: Host, path: PurePath, me: HostIdentity, *, what: str, created: list[PurePath] | None = None
) -> list[PurePath]:
    """Make sure ``path`` is a folder of ours (creating it and missing parents with mode 0700).

    Returns the folders created, outermost first (also appended to ``created`` as they are made, so a
    failure half-way loses none). Raises ``UnsafePathError`` for a forbidden path or a folder that is not
    ours.
    """
    if reason := forbidden_reason(path, me):
        raise UnsafePathError(f"{what} {path} on {host.description} {reason}; choose a folder of its own")
    missing: list[PurePath] = []
    current = path
    while (info := await host.lstat(current)) is None and current != current.parent:
        missing.append(current)
        current = current.parent
    if current == path and info is not None:
        check_own_dir(path, info, me, what=what, where=host.description)
        return []
    created = [] if created is None else created
    for folder in reversed(missing):
        if not await host.make_dir(folder, mode=0o700):  # someone made it meanwhile: only fine if it is ours
            found = await host.lstat(folder)
            if found is None:
                raise UnsafePathError(f"{folder} on {host.description} vanished while it was being created")
            check_own_dir(folder, found, me, what=what, where=host.description)
            continue
        created.append(folder)
    return created


@dataclass
class Manifest:
    """What the configure step created for ``job``: cleanup removes this and nothing else.

    ``created_dirs`` are removed with their content when inside ``working_dir`` (programs write there), and
    only when empty elsewhere (parents, the config file's folder); ``files`` are removed one by one.
    """

    job: str
    working_dir: str
    created_dirs: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    version: int = _MANIFEST_VERSION

    def add_dirs(self, paths: list[PurePath]) -> None:
        self.created_dirs += [str(p) for p in paths if str(p) not in self.created_dirs]

    def add_file(self, path: PurePath) -> None:
        if str(path) not in self.files:
            self.files.append(str(path))

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data: Any = json.loads(text)
        if not isinstance(data, dict) or data.get("version") != _MANIFEST_VERSION:
            raise ValueError("unknown manifest format")
        manifest = cls(**{key: data[key] for key in ("job", "working_dir", "created_dirs", "files")})
        if not all(isinstance(p, str) for p in manifest.created_dirs + manifest.files):
            raise ValueError("paths must be text")
        return manifest


async def read_manifest(host: Host, working_dir: PurePath, me: HostIdentity) -> Manifest | None:
    """The manifest in ``working_dir``, or None if there is none. A manifest that is not ours is refused."""
    path = working_dir / MANIFEST_NAME
    info = await host.lstat(path)
    if info is None:
        return None
    if info.kind != "file" or info.uid != me.uid:
        raise UnsafePathError(
            f"{path} on {host.description} is not a file of yours ({info.kind}, uid {info.uid}); it is not "
            "trusted: remove it if you know where it comes from"
        )
    text = await host.read_file(path)
    try:
        manifest = Manifest.from_json(text or "")
    except (ValueError, TypeError, KeyError) as exc:
        raise UnsafePathError(f"{path} on {host.description} is not a manifest this library can read ({exc})") from None
    if manifest.working_dir != str(working_dir):
        raise UnsafePathError(
            f"{path} on {host.description} describes {manifest.working_dir}, not {working_dir}; it is not trusted"
        )
    return manifest


async def write_manifest(host: Host, manifest: Manifest) -> None:
    """Write the manifest into its ``working_dir`` (atomically, mode 0600)."""
    text = json.dumps(asdict(manifest), indent=1) + "\n"
    await host.write_file(PurePosixPath(manifest.working_dir) / MANIFEST_NAME, text, mode=0o600)


async def remove_tree(host: Host, path: PurePath, info: FileInfo) -> None:
    """Remove ``path`` (whose ``lstat`` is ``info``) and, for a folder, everything in it, never following a
    symlink: a symlink is removed itself, what it points to is left alone."""
    if info.kind != "dir":
        await host.remove_file(path)
        return
    for name, entry in await host.list_dir(path):
        await remove_tree(host, path / name, entry)
    if not await host.remove_dir(path):
        raise HostCommandError(f"cannot remove {path} on {host.description}: it is not empty (written to meanwhile?)")
