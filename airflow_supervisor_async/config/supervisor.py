"""``SupervisorConfiguration``: a whole supervisord.conf, rendered to text and parsed back."""

from __future__ import annotations

import configparser
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .base import ProgramName
from .errors import ConfigurationError, format_validation_error
from .sections import (
    EventListenerConfiguration,
    FcgiProgramConfiguration,
    GroupConfiguration,
    IncludeConfiguration,
    InetHttpServerConfiguration,
    ProgramConfiguration,
    RpcInterfaceConfiguration,
    SupervisorctlConfiguration,
    SupervisordConfiguration,
    UnixHttpServerConfiguration,
)

if TYPE_CHECKING:
    from .base import SectionModel

__all__ = ("MAIN_RPCINTERFACE", "SupervisorConfiguration")

MAIN_RPCINTERFACE = "supervisor.rpcinterface:make_main_rpcinterface"
_FACTORY_KEY = "supervisor.rpcinterface_factory"

# (field, section prefix) of the named sections, in the order they are rendered
_NAMED = (
    ("program", "program"),
    ("group", "group"),
    ("fcgiprogram", "fcgi-program"),
    ("eventlistener", "eventlistener"),
    ("rpcinterface", "rpcinterface"),
)
_SINGLE = ("unix_http_server", "inet_http_server", "supervisord", "supervisorctl", "include")
# keys supervisord refuses to do without, per field
_REQUIRED = {
    "unix_http_server": ("file",),
    "inet_http_server": ("port",),
    "program": ("command",),
    "eventlistener": ("command", "events"),
    "fcgiprogram": ("command", "socket"),
}


def _header(field: str, name: str | None = None) -> str:
    prefix = dict(_NAMED).get(field, field)
    return f"[{prefix}:{name}]" if name is not None else f"[{prefix}]"


def _section_text(header: str, section: SectionModel) -> str:
    lines = [header] + [f"{key}={value}" for key, value in section.ini_items()]
    return "\n".join(lines) + "\n"


def _is_main_rpcinterface(section: RpcInterfaceConfiguration) -> bool:
    return section.model_dump(by_alias=True) == {_FACTORY_KEY: MAIN_RPCINTERFACE}


class SupervisorConfiguration(BaseModel):
    """A whole supervisord.conf: every section as a typed model.

    ``to_conf()`` renders it; ``from_conf(text)`` parses an existing file back (round trip:
    ``SupervisorConfiguration.from_conf(c.to_conf()) == c``). The standard
    ``[rpcinterface:supervisor]`` is implied: it is rendered whenever an HTTP server is configured
    and not kept in ``rpcinterface`` when it holds nothing but the standard factory.
    """

    # pydantic echoes a whole document in model-level errors; ours (ConfigurationError) mask the secrets in it
    model_config = ConfigDict(extra="forbid", validate_assignment=True, hide_input_in_errors=True)

    supervisord: SupervisordConfiguration = Field(
        default_factory=SupervisordConfiguration, description="The `[supervisord]` section (always rendered)."
    )
    supervisorctl: SupervisorctlConfiguration | None = Field(default=None, description="The `[supervisorctl]` section.")
    unix_http_server: UnixHttpServerConfiguration | None = Field(
        default=None, description="The `[unix_http_server]` section."
    )
    inet_http_server: InetHttpServerConfiguration | None = Field(
        default=None, description="The `[inet_http_server]` section."
    )
    include: IncludeConfiguration | None = Field(default=None, description="The `[include]` section.")
    program: dict[ProgramName, ProgramConfiguration] = Field(
        default_factory=dict, description="`[program:x]` sections, by name."
    )
    group: dict[ProgramName, GroupConfiguration] = Field(
        default_factory=dict, description="`[group:x]` sections, by name."
    )
    eventlistener: dict[ProgramName, EventListenerConfiguration] = Field(
        default_factory=dict, description="`[eventlistener:x]` sections, by name."
    )
    fcgiprogram: dict[ProgramName, FcgiProgramConfiguration] = Field(
        default_factory=dict, description="`[fcgi-program:x]` sections, by name."
    )
    rpcinterface: dict[ProgramName, RpcInterfaceConfiguration] = Field(
        default_factory=dict, description="`[rpcinterface:x]` sections, by name."
    )

    @model_validator(mode="after")
    def _standard_interface_is_implied(self) -> Self:
        # to_conf() renders the standard interface whenever an HTTP server is configured; keeping it out of the
        # model makes a file that spells it out and one that does not parse to the same configuration.
        standard = self.rpcinterface.get("supervisor")
        if standard is not None and _is_main_rpcinterface(standard):
            self.rpcinterface = {k: v for k, v in self.rpcinterface.items() if k != "supervisor"}
        return self

    # -- checks supervisord makes across sections -----------------------------------------------
    def incomplete(self) -> list[tuple[str, str]]:
        """``(section, problem)`` for what supervisord would refuse: missing required keys, unknown group members.

        Not a validator, so that partial sections can be completed later (e.g. by Airflow defaults);
        ``to_conf()`` and ``from_conf()`` raise for these.
        """
        problems: list[tuple[str, str]] = []
        for field, keys in _REQUIRED.items():
            value = getattr(self, field)
            sections = value.items() if isinstance(value, dict) else [(None, value)] if value is not None else []
            for name, section in sections:
                problems += [
                    (_header(field, name), f"{key} is required") for key in keys if getattr(section, key) is None
                ]
        if self.include is None:  # an included file may define the members
            for name, group in self.group.items():
                unknown = [p for p in group.programs if p not in self.program and p not in self.fcgiprogram]
                problems += [
                    (_header("group", name), f"programs: no [program:{p}] or [fcgi-program:{p}]") for p in unknown
                ]
        for name in set(self.program) & set(self.fcgiprogram):
            problems.append((f"[program:{name}]", f"name {name!r} is also an [fcgi-program:{name}]"))
        return problems

    # -- rendering ---------------------------------------------------------------------------
    def to_conf(self) -> str:
        """The supervisord.conf text. Unset keys are left out.

        When an HTTP server is configured and no ``[rpcinterface:supervisor]`` is given, the standard
        one is added (supervisorctl and XML-RPC clients need it). Raises ``ConfigurationError`` for a
        configuration supervisord would refuse (see ``incomplete()``).
        """
        if problems := self.incomplete():
            raise ConfigurationError(problems)
        # [supervisord] is rendered even when empty: supervisord refuses a file without it
        parts = [
            _section_text(_header(name), section) for name in _SINGLE if (section := getattr(self, name)) is not None
        ]
        for field, _ in _NAMED:
            parts += [_section_text(_header(field, key), section) for key, section in getattr(self, field).items()]
        serving = self.unix_http_server is not None or self.inet_http_server is not None
        if serving and "supervisor" not in self.rpcinterface:
            standard = RpcInterfaceConfiguration.model_validate({"rpcinterface_factory": MAIN_RPCINTERFACE})
            parts.append(_section_text(_header("rpcinterface", "supervisor"), standard))
        return "\n".join(parts)

    def to_cfg(self) -> str:
        """``to_conf()`` under airflow-supervisor's name."""
        return self.to_conf()

    # -- parsing -----------------------------------------------------------------------------
    @classmethod
    def from_conf(cls, text: str, *, source: str | None = None) -> Self:
        """Parse supervisord.conf text the way supervisord reads it (keys are case-insensitive).

        Raises ``ConfigurationError`` naming the section and key of every problem.
        """
        data, problems = _read_sections(text, source)
        if problems:
            raise ConfigurationError(problems, source=source)
        try:
            config = cls.model_validate(data)
        except ValidationError as exc:
            raise ConfigurationError(_locate(exc), source=source) from exc
        if problems := config.incomplete():
            raise ConfigurationError(problems, source=source)
        return config

    @classmethod
    def from_conf_file(cls, path: str | Path) -> Self:
        """Parse the supervisord.conf at ``path`` (``[include]`` files are named, not read)."""
        return cls.from_conf(Path(path).read_text(encoding="utf-8"), source=str(path))


def _read_sections(text: str, source: str | None) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Section data by model field, read with supervisord's own parser; plus problems found on the way."""
    from supervisor.options import UnhosedConfigParser

    parser = UnhosedConfigParser()
    try:
        parser.read_string(text, source=source or "<text>")
    except configparser.Error as exc:
        return {}, [("(file)", str(exc).splitlines()[0])]
    problems = [("[DEFAULT]", f"{key}: keys in [DEFAULT] are not supported") for key in parser.defaults()]
    data: dict[str, Any] = {}
    fields = {prefix: field for field, prefix in _NAMED}
    for header in parser.sections():
        values = dict(parser.items(header))
        prefix, sep, name = header.partition(":")
        if header in _SINGLE:
            data[header] = values
        elif sep and prefix in fields:
            data.setdefault(fields[prefix], {})[name] = values
        else:
            problems.append((f"[{header}]", "unknown section"))
        if prefix == "rpcinterface" and "rpcinterface_factory" in values:
            problems.append((f"[{header}]", f"unknown key 'rpcinterface_factory' (the key is {_FACTORY_KEY})"))
    return data, problems


def _locate(exc: ValidationError) -> list[tuple[str, str]]:
    """Validation problems, each message saying which supervisord.conf section it is in."""
    located = []
    for error, (path, message) in zip(exc.errors(), format_validation_error(exc), strict=True):
        loc = error["loc"]
        field = str(loc[0]) if loc else ""
        if field in dict(_NAMED) and len(loc) > 1:
            message += f" in section {_header(field, str(loc[1]))}"
        elif field in _SINGLE:
            message += f" in section {_header(field)}"
        located.append((path, message))
    return located
