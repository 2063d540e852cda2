"""``SupervisorConfiguration``: a whole supervisord.conf, rendered to text and parsed back."""

from __future__ import annotations

import configparser
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .base import Name
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

__all__ = ("SupervisorConfiguration",)

MAIN_RPCINTERFACE = "supervisor.rpcinterface:make_main_rpcinterface"

# (field, section prefix) of the named sections, in the order they are rendered
_NAMED = (
    ("program", "program"),
    ("group", "group"),
    ("fcgiprogram", "fcgi-program"),
    ("eventlistener", "eventlistener"),
    ("rpcinterface", "rpcinterface"),
)
_SINGLE = ("unix_http_server", "inet_http_server", "supervisord", "supervisorctl", "include")


def _section_text(header: str, section: SectionModel) -> str:
    lines = [f"[{header}]"] + [f"{key}={value}" for key, value in section.ini_items()]
    return "\n".join(lines) + "\n"


class SupervisorConfiguration(BaseModel):
    """A whole supervisord.conf: every section as a typed model.

    ``to_conf()`` renders it; ``from_conf(text)`` parses an existing file back (round trip:
    ``SupervisorConfiguration.from_conf(c.to_conf()) == c``).
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    supervisord: SupervisordConfiguration = Field(
        default_factory=SupervisordConfiguration, description="The `[supervisord]` section."
    )
    supervisorctl: SupervisorctlConfiguration | None = Field(default=None, description="The `[supervisorctl]` section.")
    unix_http_server: UnixHttpServerConfiguration | None = Field(
        default=None, description="The `[unix_http_server]` section."
    )
    inet_http_server: InetHttpServerConfiguration | None = Field(
        default=None, description="The `[inet_http_server]` section."
    )
    include: IncludeConfiguration | None = Field(default=None, description="The `[include]` section.")
    program: dict[Name, ProgramConfiguration] = Field(default_factory=dict, description="`[program:x]` sections.")
    group: dict[Name, GroupConfiguration] = Field(default_factory=dict, description="`[group:x]` sections.")
    eventlistener: dict[Name, EventListenerConfiguration] = Field(
        default_factory=dict, description="`[eventlistener:x]` sections."
    )
    fcgiprogram: dict[Name, FcgiProgramConfiguration] = Field(
        default_factory=dict, description="`[fcgi-program:x]` sections."
    )
    rpcinterface: dict[Name, RpcInterfaceConfiguration] = Field(
        default_factory=dict, description="`[rpcinterface:x]` sections."
    )

    @model_validator(mode="after")
    def _standard_interface_is_implied(self) -> Self:
        # to_conf() adds the standard interface whenever an HTTP server is configured; keeping it out of the
        # model makes a file that spells it out and one that does not parse to the same configuration.
        standard = self.rpcinterface.get("supervisor")
        if standard is not None and standard.model_dump(by_alias=True) == {
            "supervisor.rpcinterface_factory": MAIN_RPCINTERFACE
        }:
            self.rpcinterface = {k: v for k, v in self.rpcinterface.items() if k != "supervisor"}
        return self

    # -- rendering ---------------------------------------------------------------------------
    def to_conf(self) -> str:
        """The supervisord.conf text. Unset keys are left out.

        When an HTTP server is configured and no ``[rpcinterface:supervisor]`` is given, the standard
        one is added (supervisorctl and XML-RPC clients need it).
        """
        # [supervisord] is rendered even when empty: supervisord refuses a file without it
        parts = [_section_text(name, section) for name in _SINGLE if (section := getattr(self, name)) is not None]
        for field, prefix in _NAMED:
            parts += [_section_text(f"{prefix}:{key}", section) for key, section in getattr(self, field).items()]
        serving = self.unix_http_server is not None or self.inet_http_server is not None
        if serving and "supervisor" not in self.rpcinterface:
            parts.append(
                _section_text(
                    "rpcinterface:supervisor", RpcInterfaceConfiguration(rpcinterface_factory=MAIN_RPCINTERFACE)
                )
            )
        return "\n".join(parts)

    # -- parsing -----------------------------------------------------------------------------
    @classmethod
    def from_conf(cls, text: str, *, source: str | None = None) -> Self:
        """Parse supervisord.conf text into the models; raises ``ConfigurationError`` naming section and key."""
        parser = configparser.RawConfigParser(inline_comment_prefixes=(";", "#"), strict=False)
        parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
        try:
            parser.read_string(text, source=source or "<text>")
        except configparser.Error as exc:
            raise ConfigurationError([("(file)", str(exc).splitlines()[0])], source=source) from exc
        data: dict[str, Any] = {}
        problems: list[tuple[str, str]] = []
        prefixes = {prefix: field for field, prefix in _NAMED}
        for header in parser.sections():
            values = dict(parser.items(header))
            if header in _SINGLE:
                data[header] = values
                continue
            prefix, sep, name = header.partition(":")
            if not sep or prefix not in prefixes:
                problems.append((f"[{header}]", "unknown section"))
                continue
            data.setdefault(prefixes[prefix], {})[name] = values
        if problems:
            raise ConfigurationError(problems, source=source)
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ConfigurationError(format_validation_error(exc), source=source) from exc

    @classmethod
    def from_conf_file(cls, path: str | Path) -> Self:
        """Parse the supervisord.conf at ``path``."""
        return cls.from_conf(Path(path).read_text(encoding="utf-8"), source=str(path))
