"""Reading docker-compose.yml, its Dockerfiles and .dockerignore for the deploy tests (no Docker engine needed)."""

from __future__ import annotations

import functools
import re
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
AIRFLOW_DOCKERFILE = "docker/airflow.Dockerfile"
SUPERVISOR_HOST_DOCKERFILE = "docker/supervisor-host.Dockerfile"
AIRFLOW_COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
EXAMPLE_DAG_IDS = frozenset(
    {
        "example-supervisor-local",
        "example-supervisor-remote",
        "example-supervisor-always-on",
        "example-supervisor-yaml",
    }
)

Service = dict[str, Any]


@functools.cache
def compose() -> dict[str, Any]:
    """docker-compose.yml as parsed by PyYAML (anchors and merge keys resolved)."""
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict), "docker-compose.yml is not a mapping"
    return data


def services() -> dict[str, Service]:
    found = compose().get("services")
    assert isinstance(found, dict), "docker-compose.yml has no services"
    assert found, "docker-compose.yml has no services"
    return found


def dockerfile(service: Service) -> str | None:
    """The service's Dockerfile relative to the repository root (None without a build)."""
    build = service.get("build")
    if build is None:
        return None
    if isinstance(build, str):
        return str(PurePosixPath(build) / "Dockerfile")
    return str(PurePosixPath(build.get("context", ".")) / build.get("dockerfile", "Dockerfile"))


def airflow_services() -> dict[str, Service]:
    """Services running the project's Airflow image (the four components and airflow-init)."""
    return {name: svc for name, svc in services().items() if dockerfile(svc) == AIRFLOW_DOCKERFILE}


def command(service: Service) -> list[str]:
    cmd = service.get("command", [])
    return cmd.split() if isinstance(cmd, str) else [str(part) for part in cmd]


def component_services() -> dict[str, str]:
    """``{component: service name}`` for the Airflow services whose command is a component."""
    found: dict[str, str] = {}
    for name, svc in airflow_services().items():
        cmd = command(svc)
        if cmd and cmd[0] in AIRFLOW_COMPONENTS:
            assert cmd[0] not in found, f"{cmd[0]} runs in both {found[cmd[0]]} and {name}"
            found[cmd[0]] = name
    return found


def environment(service: Service) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):  # KEY=VALUE form
        env = dict(item.split("=", 1) for item in env)
    return {str(key): str(value) for key, value in env.items()}


def volume_mounts(service: Service) -> list[tuple[str, str, bool]]:
    """``(source, target, read_only)`` of each volume, short or long syntax."""
    mounts: list[tuple[str, str, bool]] = []
    for entry in service.get("volumes", []):
        if isinstance(entry, dict):
            mounts.append((str(entry.get("source", "")), str(entry["target"]), bool(entry.get("read_only", False))))
            continue
        parts = str(entry).split(":")
        mode = parts[2] if len(parts) > 2 else "rw"
        mounts.append((parts[0], parts[1], "ro" in mode.split(",")))
    return mounts


def is_host_path(source: str) -> bool:
    return source.startswith((".", "/", "~"))


def mount_at(service: Service, target: str) -> tuple[str, bool] | None:
    """``(source, read_only)`` of the volume mounted at ``target``, if any."""
    for source, mounted, read_only in volume_mounts(service):
        if PurePosixPath(mounted) == PurePosixPath(target):
            return source, read_only
    return None


def published_ports(service: Service) -> list[tuple[str | None, str]]:
    """``(host_ip, spec)`` per published port; host_ip None when the port is published on every interface."""
    found: list[tuple[str | None, str]] = []
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            found.append((entry.get("host_ip"), f"{entry.get('published')}:{entry.get('target')}"))
            continue
        spec = str(entry)
        # HOST_IP:HOST_PORT:CONTAINER_PORT (IPv6 in brackets) has an address; PORT and HOST:CONTAINER do not
        match = re.fullmatch(r"(\[[^\]]+\]|[^:]+):([^:]+):(.+)", spec)
        found.append((match.group(1).strip("[]"), spec) if match else (None, spec))
    return found


def url_host_port(url: str) -> tuple[str | None, int | None]:
    parts = urlsplit(url)
    return parts.hostname, parts.port


# -- Dockerfiles and .dockerignore --------------------------------------------------------------


def copy_sources(dockerfile_path: Path) -> list[str]:
    """Source paths of every COPY/ADD instruction (flags and the destination left out)."""
    text = re.sub(r"\\\n", " ", dockerfile_path.read_text(encoding="utf-8"))
    sources: list[str] = []
    for line in text.splitlines():
        words = line.split()
        if not words or words[0].upper() not in ("COPY", "ADD"):
            continue
        args = [word for word in words[1:] if not word.startswith("--")]
        sources.extend(args[:-1])
    return sources


def dockerignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern (Go filepath.Match plus ``**``) as a regex over slash-separated paths."""
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out)


def is_dockerignored(path: str, patterns: list[str] | None = None) -> bool:
    """Whether Docker leaves ``path`` (relative to the context) out of the build context.

    The last matching pattern decides; a pattern matching a directory matches everything in it.
    """
    patterns = dockerignore_patterns() if patterns is None else patterns
    parts = PurePosixPath(path).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = str(PurePosixPath(raw[1:] if negate else raw)).strip("/")
        regex = _pattern_regex(pattern)
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            ignored = not negate
    return ignored
