"""A remote host of the test's own: a Linux network namespace reached through a veth pair, running a real sshd.

``RemoteHost.create()`` makes a namespace ``asa-faults-<hex>``, a veth pair (one end in the namespace),
a random /30 out of 198.18.0.0/15 (RFC 2544's range for network tests) with the root side on ``.1`` and
the namespace side on ``.2``, and starts OpenSSH's sshd inside the namespace on ``<address>:22`` with
generated keys. Everything started over SSH (supervisord, its programs) lives in that namespace's
network: ``partition()`` takes the namespace's end of the link down -- packets between the two sides are
dropped silently, established TCP connections stall, new ones time out -- and ``heal()`` brings it back.
The filesystem is shared with the test, which reads the remote job's files directly.

A blackhole route for the /30 (metric 4000) stays under the link's own route while the namespace
exists: whatever happens to the link, traffic for the namespace's address never leaves this machine.

``close()`` SIGKILLs every process in the namespace (only processes started inside it), deletes the
namespace (which deletes the veth pair), the blackhole route and the working folder. Needs root and
iproute2; ``unavailable_reason()`` says why a test cannot have such a host.
"""

from __future__ import annotations

import contextlib
import getpass
import ipaddress
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from tests.fixtures.sshd import SFTP_SUBSYSTEM, SSHD, SSHD_CONFIG, generate_key, sshd_available

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow_supervisor_async.config.ssh import SSHConfiguration

__all__ = ("NetnsError", "RemoteHost", "unavailable_reason")

_RANGE = ipaddress.ip_network("198.18.0.0/15")
_BLACKHOLE_METRIC = "4000"


class NetnsError(RuntimeError):
    """A namespace command failed; the message carries its output."""


def unavailable_reason() -> str | None:
    """Why this machine cannot give a test a remote host in a network namespace, or None if it can."""
    if os.geteuid() != 0:
        return "network namespaces and veth pairs need root"
    if shutil.which("ip") is None:
        return "iproute2's `ip` is not installed (apt-get install iproute2)"
    if not sshd_available():
        return f"OpenSSH server not installed ({SSHD} missing; apt-get install openssh-server)"
    return None


def _ip(*args: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise NetnsError(f"ip {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}")
    return result


def _routes_in_use() -> list[ipaddress.IPv4Network]:
    """Every IPv4 destination routed on this machine (all tables), except the default route."""
    found = []
    for route in json.loads(_ip("-j", "-4", "route", "show", "table", "all").stdout or "[]"):
        dst = route.get("dst", "default")
        if dst != "default":
            with contextlib.suppress(ValueError):
                found.append(ipaddress.ip_network(dst if "/" in dst else f"{dst}/32", strict=False))
    return found


def _pick_subnet() -> ipaddress.IPv4Network:
    used = _routes_in_use()
    for _ in range(50):
        offset = random.randrange(_RANGE.num_addresses // 4) * 4
        subnet = ipaddress.ip_network(f"{_RANGE.network_address + offset}/30")
        if not any(subnet.overlaps(other) for other in used):
            return subnet  # type: ignore[return-value]
    raise NetnsError("no free /30 in 198.18.0.0/15")


def _is_sshd(pid: int) -> bool:
    try:
        return os.readlink(f"/proc/{pid}/exe") == SSHD or Path(f"/proc/{pid}/comm").read_text().startswith("sshd")
    except OSError:
        return False


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(child) for child in (task / "children").read_text().split()]
    return found


@dataclass
class RemoteHost:
    """A network namespace with its own address and sshd: a second host, reached over a real link."""

    namespace: str
    root_link: str  #: the veth end in the root namespace
    host_link: str  #: the veth end inside the namespace
    subnet: ipaddress.IPv4Network
    workdir: Path
    username: str = field(default_factory=getpass.getuser)
    sshd: subprocess.Popen[bytes] | None = None
    partitioned: bool = False
    _created: list[str] = field(default_factory=list)

    # -- addresses and SSH settings ----------------------------------------------------------------------------
    @property
    def address(self) -> str:
        """The host's address (inside the namespace)."""
        return str(self.subnet.network_address + 2)

    @property
    def local_address(self) -> str:
        """This machine's address on the link (root namespace side)."""
        return str(self.subnet.network_address + 1)

    @property
    def user_key(self) -> Path:
        return self.workdir / "user_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.workdir / "known_hosts"

    @property
    def sshd_log(self) -> Path:
        return self.workdir / "sshd.log"

    def ssh_config(self, **overrides: Any) -> SSHConfiguration:
        """``SSHConfiguration`` for this host (host key checked against ``known_hosts``)."""
        from airflow_supervisor_async.config.ssh import SSHConfiguration

        options: dict[str, Any] = {
            "host": self.address,
            "port": 22,
            "username": self.username,
            "key_file": self.user_key,
            "known_hosts": self.known_hosts,
        }
        return SSHConfiguration(**{**options, **overrides})

    def connection_uri(self) -> str:
        """An Airflow SSH connection URI for this host (key file and known_hosts as extras)."""
        extras = f"key_file={quote(str(self.user_key), safe='')}&known_hosts={quote(str(self.known_hosts), safe='')}"
        return f"ssh://{self.username}@{self.address}:22?{extras}"

    # -- lifecycle ----------------------------------------------------------------------------------------------
    @classmethod
    def create(cls, workdir: Path | None = None) -> RemoteHost:
        """Namespace, link, addresses and a running sshd; everything made is removed again if a step fails."""
        reason = unavailable_reason()
        if reason:
            raise NetnsError(reason)
        token = secrets.token_hex(3)
        host = cls(
            namespace=f"asa-faults-{token}",
            root_link=f"asa{token}r",
            host_link=f"asa{token}n",
            subnet=_pick_subnet(),
            workdir=workdir or Path(tempfile.mkdtemp(prefix="asa-nh-", dir="/tmp")),
        )
        try:
            host._make_network()
            host._make_keys()
            host.start_sshd()
        except BaseException:
            host.close()
            raise
        return host

    def _make_network(self) -> None:
        net = self.subnet
        _ip("route", "add", "blackhole", str(net), "metric", _BLACKHOLE_METRIC)
        self._created.append("blackhole")
        _ip("netns", "add", self.namespace)
        self._created.append("netns")
        _ip("link", "add", self.root_link, "type", "veth", "peer", "name", self.host_link)
        self._created.append("link")
        _ip("link", "set", self.host_link, "netns", self.namespace)
        _ip("addr", "add", f"{self.local_address}/{net.prefixlen}", "dev", self.root_link)
        _ip("link", "set", self.root_link, "up")
        self.exec(["ip", "addr", "add", f"{self.address}/{net.prefixlen}", "dev", self.host_link])
        self.exec(["ip", "link", "set", self.host_link, "up"])
        self.exec(["ip", "link", "set", "lo", "up"])

    def _make_keys(self) -> None:
        host_public = generate_key(self.workdir / "host_ed25519", "faults-host")
        user_public = generate_key(self.user_key, f"{self.username}@faults")
        (self.workdir / "authorized_keys").write_text(user_public + "\n")
        self.known_hosts.write_text(f"{self.address} {host_public}\n")
        config = SSHD_CONFIG.format(port=22, address=self.address, workdir=self.workdir) + SFTP_SUBSYSTEM
        (self.workdir / "sshd_config").write_text(config)

    def exec(self, argv: Sequence[str], *, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` inside the namespace (``ip netns exec``)."""
        result = subprocess.run(
            ["ip", "netns", "exec", self.namespace, *argv], capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and result.returncode != 0:
            raise NetnsError(f"{' '.join(argv)} in {self.namespace} failed: {result.stderr.strip()}")
        return result

    # -- sshd --------------------------------------------------------------------------------------------------
    def start_sshd(self, timeout: float = 30) -> None:
        """Start sshd in the namespace and wait until it greets from this side of the link."""
        if self.sshd is not None and self.sshd.poll() is None:
            return
        Path("/run/sshd").mkdir(mode=0o755, parents=True, exist_ok=True)  # privilege separation directory
        self.sshd = subprocess.Popen(
            ["ip", "netns", "exec", self.namespace, SSHD, "-D", "-f", str(self.workdir / "sshd_config"),
             "-E", str(self.sshd_log)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        self.wait_reachable(timeout)

    def wait_reachable(self, timeout: float = 30) -> None:
        """Wait until sshd's greeting arrives over the link; raise ``NetnsError`` with its log otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.sshd is not None and self.sshd.poll() is not None:
                raise NetnsError(f"sshd in {self.namespace} exited with {self.sshd.returncode}:\n{self._log()}")
            with contextlib.suppress(OSError), socket.create_connection((self.address, 22), timeout=1) as sock:
                sock.settimeout(2)
                if sock.recv(64).startswith(b"SSH-"):
                    return
            time.sleep(0.05)
        raise NetnsError(f"sshd at {self.address} did not greet within {timeout:g} s:\n{self._log()}")

    def _log(self) -> str:
        return self.sshd_log.read_text(errors="replace")[-4000:] if self.sshd_log.exists() else "<no sshd log>"

    def kill_sshd(self) -> None:
        """SIGKILL sshd and every per-connection sshd process: each SSH connection to the host drops at once.

        What the sessions started (a daemonized supervisord, its programs) keeps running, as on a real host.
        """
        if self.sshd is None:
            return
        pending, sshds = [self.sshd.pid], []
        while pending:  # ip netns exec -> sshd -> per-connection sshd processes -> sessions
            pid = pending.pop()
            if pid == self.sshd.pid or _is_sshd(pid):
                sshds.append(pid)
                pending += _children(pid)
        for pid in sshds:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.sshd.wait(timeout=10)

    def restart_sshd(self) -> None:
        """``kill_sshd()`` then ``start_sshd()``: connections drop, new ones are accepted again."""
        self.kill_sshd()
        self.start_sshd()

    # -- the link ----------------------------------------------------------------------------------------------
    def partition(self) -> None:
        """Take the namespace's end of the link down: from now on nothing crosses it (silently dropped)."""
        self.exec(["ip", "link", "set", self.host_link, "down"])
        self.partitioned = True

    def heal(self, timeout: float = 30) -> None:
        """Bring the link back up and wait until sshd can be reached over it again."""
        self.exec(["ip", "link", "set", self.host_link, "up"])
        self.partitioned = False
        self.wait_reachable(timeout)

    # -- processes ---------------------------------------------------------------------------------------------
    def pids(self) -> list[int]:
        """Processes whose network is this namespace (started inside it)."""
        result = _ip("netns", "pids", self.namespace, check=False)
        return [int(pid) for pid in result.stdout.split()]

    def close(self) -> None:
        """Kill what runs in the namespace, delete it, the link, the route and the working folder (idempotent)."""
        if "netns" in self._created:
            deadline = time.monotonic() + 15
            while (pids := self.pids()) and time.monotonic() < deadline:
                for pid in pids:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                time.sleep(0.1)
            if self.sshd is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.sshd.wait(timeout=5)
            _ip("netns", "del", self.namespace, check=False)
            _ip("link", "del", self.root_link, check=False)  # gone with the namespace, unless it never moved
        if "blackhole" in self._created:
            _ip("route", "del", "blackhole", str(self.subnet), "metric", _BLACKHOLE_METRIC, check=False)
        self._created.clear()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> RemoteHost:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
