"""Shared pieces of the section models: value types, validators, and how values become INI text.

Values are stored in supervisord's own syntax: ``%(here)s``-style expansions are kept verbatim
(supervisord expands them) and a literal percent sign is written ``%%``.
"""

from __future__ import annotations

import os
import re
import signal
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

__all__ = (
    "ByteSize",
    "CommaList",
    "Environment",
    "IntList",
    "LogLevel",
    "Name",
    "Octal",
    "PathStr",
    "SectionModel",
    "Signal",
    "SpaceList",
    "Text",
    "check_value",
    "render_value",
)

# A value part supervisord's expand() accepts: %% or %(name)<flags><width><.prec><conversion>
_EXPANSION = re.compile(r"%%|%\([A-Za-z0-9_]+\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")
# Python's configparser (as supervisord sets it up) starts an inline comment at whitespace + ; or #
_INLINE_COMMENT = re.compile(r"\s[;#]")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_value(value: str) -> str:
    """Reject text that supervisord's parser would cut, mangle or refuse."""
    if "\n" in value or "\r" in value:
        raise ValueError("must be a single line (supervisord.conf values cannot hold newlines)")
    if "%" in _EXPANSION.sub("", value):
        raise ValueError(
            f"{value!r} has a bare '%': write '%%' for a literal percent sign, or a supervisord "
            "expansion such as %(here)s or %(ENV_HOME)s"
        )
    if _INLINE_COMMENT.search(value):
        raise ValueError(
            f"{value!r} contains ' ;' or ' #', which supervisord's config parser treats as the start of a comment "
            "(everything after it would be lost); remove the space before it"
        )
    return value


def _fspath(value: Any) -> Any:
    return os.fspath(value) if isinstance(value, os.PathLike) else value


def _check_name(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError(
            f"invalid name {value!r}: use letters, digits, '_', '.' and '-' (no ':', spaces or shell characters)"
        )
    return value


def _split(value: Any, sep: str | None = ",") -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(sep) if part.strip()]
    return value


def _check_octal(value: Any) -> str:
    text = format(value, "o") if isinstance(value, int) else str(value)
    if not re.fullmatch(r"0?[0-7]{3}", text):
        raise ValueError(f"expected an octal mode such as 022 or 0700, got {value!r}")
    return text


def _check_byte_size(value: Any) -> str:
    text = str(value).strip()
    if not re.fullmatch(r"\d+\s*(?:[KMG]B)?", text, re.IGNORECASE):
        raise ValueError(f"expected a size in bytes such as 1024, 50MB, 10KB or 1GB, got {value!r}")
    return text


def _signal_name(value: Any) -> Any:
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return signal.Signals(int(value)).name.removeprefix("SIG")
    if isinstance(value, str):
        return value.upper().removeprefix("SIG")
    return value


def _environment(value: Any) -> Any:
    if isinstance(value, str):
        from supervisor.datatypes import dict_of_key_value_pairs

        return dict_of_key_value_pairs(value)
    return value


def _check_environment(value: dict[str, str]) -> dict[str, str]:
    for key, item in value.items():
        if not _ENV_KEY.match(key):
            raise ValueError(f"environment: {key!r} is not a valid variable name")
        if item and (item[0] in "'\"" or item[-1] in "'\""):
            raise ValueError(f"environment: the value of {key} may not start or end with a quote character")
        if '"' in item and "'" in item:
            raise ValueError(
                f"environment: the value of {key} may not hold both ' and \" (supervisord cannot quote it)"
            )
        check_value(item)
    return value


Name = Annotated[str, AfterValidator(_check_name)]
Text = Annotated[str, AfterValidator(check_value)]
PathStr = Annotated[str, BeforeValidator(_fspath), AfterValidator(check_value)]
Octal = Annotated[str, BeforeValidator(_check_octal)]
ByteSize = Annotated[str, BeforeValidator(_check_byte_size)]
CommaList = Annotated[list[Annotated[str, AfterValidator(check_value)]], BeforeValidator(_split)]
SpaceList = Annotated[list[Annotated[str, AfterValidator(check_value)]], BeforeValidator(lambda v: _split(v, None))]
IntList = Annotated[list[int], BeforeValidator(_split)]
Signal = Annotated[Literal["TERM", "HUP", "INT", "QUIT", "KILL", "USR1", "USR2"], BeforeValidator(_signal_name)]
LogLevel = Literal["critical", "error", "warn", "info", "debug", "trace", "blather"]
Environment = Annotated[dict[str, str], BeforeValidator(_environment), AfterValidator(_check_environment)]


def render_value(value: Any, *, sep: str = ",") -> str:
    """The INI text of one value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return ",".join(f"{k}={_quote(v)}" for k, v in value.items())
    if isinstance(value, list):
        return sep.join(str(v) for v in value)
    return str(value)


def _quote(value: str) -> str:
    return f"'{value}'" if '"' in value else f'"{value}"'


class SectionModel(BaseModel):
    """Base of every section: supervisord's key names as fields; ``None`` means unset (not rendered)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, str_strip_whitespace=True)

    #: Keys whose list values are separated by spaces in supervisord.conf instead of commas.
    space_separated: ClassVar[frozenset[str]] = frozenset()

    def ini_items(self) -> list[tuple[str, str]]:
        """``(key, text)`` for every set key, in field order."""
        items = []
        data = self.model_dump(exclude_none=True, by_alias=True)
        for key, value in data.items():
            sep = " " if key in self.space_separated else ","
            items.append((key, render_value(value, sep=sep)))
        return items
