"""Readers of Linux /proc for tests and benchmarks: the TCP socket tables, process state and descendants, and
this process's open file descriptors. Plain functions; none of them raises when a process or file is gone."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = (
    "ESTABLISHED",
    "LISTEN",
    "TcpSocket",
    "alive",
    "descendants",
    "established",
    "listening_sockets_of_this_process",
    "open_fd_count",
    "open_fds",
    "process_state",
    "processes_using",
    "stat_fields",
    "tcp_sockets",
)

TCP_TABLES = ("/proc/net/tcp", "/proc/net/tcp6")
ESTABLISHED = "01"  #: the ``st`` column of a TCP table, in hex
LISTEN = "0A"


class TcpSocket(NamedTuple):
    """One row of /proc/net/tcp or /proc/net/tcp6."""

    port: int  #: the local port
    state: str  #: the ``st`` column: two hex digits (``ESTABLISHED``, ``LISTEN``, ...)
    inode: str  #: the socket's inode, as in the ``socket:[INODE]`` target of a descriptor
    local: str  #: the local address as the table spells it: hex address, colon, hex port


def tcp_sockets() -> Iterator[TcpSocket]:
    """Every TCP socket of this network namespace, IPv4 then IPv6 (a table that cannot be read is skipped)."""
    for table in TCP_TABLES:
        try:
            rows = Path(table).read_text(encoding="ascii").splitlines()[1:]  # after the header
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            yield TcpSocket(int(fields[1].rsplit(":", 1)[1], 16), fields[3], fields[9], fields[1])


def established(port: int) -> int:
    """How many ESTABLISHED TCP connections (IPv4 and IPv6) have local port ``port``: the server side of
    the connections to a server listening on ``port``."""
    return sum(1 for sock in tcp_sockets() if sock.state == ESTABLISHED and sock.port == port)


def listening_sockets_of_this_process() -> list[str]:
    """Local addresses (as the TCP tables spell them) of the TCP sockets in LISTEN state that this process holds."""
    inodes = {target[8:-1] for target in open_fds().values() if target.startswith("socket:[")}
    return [sock.local for sock in tcp_sockets() if sock.state == LISTEN and sock.inode in inodes]


def stat_fields(pid: int | str) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (which may hold spaces and parentheses): [0] the
    one-letter state, [1] the parent pid, [11:15] utime, stime, cutime, cstime in clock ticks; None when the
    process is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def process_state(pid: int) -> str | None:
    """The one-letter state of ``pid`` (R, S, D, T, Z, X, ...), None when the process is gone."""
    fields = stat_fields(pid)
    return fields[0] if fields else None


def alive(pid: int) -> bool:
    """Whether ``pid`` exists and has not ended: not a zombie (Z: it died, its parent has not reaped it), nor
    dead (X)."""
    return process_state(pid) not in (None, "Z", "X")


def descendants(pid: int) -> list[int]:
    """PIDs of every descendant of ``pid``, children first."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := stat_fields(entry)) and len(fields) > 1:
            parents.setdefault(int(fields[1]), []).append(int(entry))
    out: list[int] = []
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def processes_using(*paths: str | Path) -> list[str]:
    """Live processes (other than this one) whose command line, working directory or environment names one of
    ``paths``, as ``"PID cmdline"`` lines. Environments of other users' processes are unreadable and skipped."""
    needles = [os.fsencode(str(path)) for path in paths]
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid() or not alive(int(entry)):
            continue
        seen = b""
        for name in ("cmdline", "environ"):
            with contextlib.suppress(OSError):
                seen += Path(f"/proc/{entry}/{name}").read_bytes() + b"\0"
        with contextlib.suppress(OSError):
            seen += os.fsencode(os.readlink(f"/proc/{entry}/cwd"))
        if any(needle in seen for needle in needles):
            with contextlib.suppress(OSError):
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                found.append(f"{entry} {cmdline.strip()}")
    return found


def open_fds() -> dict[str, str]:
    """This process's open file descriptors (numbers, as strings) and what each points to."""
    found = {}
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            found[fd] = os.readlink(f"/proc/self/fd/{fd}")
    return found


def open_fd_count() -> int:
    """How many file descriptors this process has open, counting the one that lists them."""
    return len(os.listdir("/proc/self/fd"))
