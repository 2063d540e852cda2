"""Shared pieces of the section models: the base class and the value types supervisord's keys take.

Text values are stored in supervisord's own syntax: ``%(here)s``-style expansions are kept verbatim
(supervisord expands them) and a literal percent sign is written ``%%``. See ``ini`` for what
supervisord's parser does with the text.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from .ini import check_environment_value, check_text, parse_environment, render_value, split_list

__all__ = (
    "AutoRestart",
    "Bool",
    "ByteSize",
    "ClientPassword",
    "Environment",
    "EventNames",
    "ExitCodes",
    "FilePath",
    "FilePatterns",
    "HostPort",
    "HttpUser",
    "LogFile",
    "LogLevel",
    "Octal",
    "ProcessName",
    "ProgramName",
    "ProgramNames",
    "SafePath",
    "SectionModel",
    "ServerPassword",
    "ServerUrl",
    "Signal",
    "SupervisordEnvironment",
    "SystemUser",
    "Text",
    "UserGroup",
)

# fullmatch everywhere: ``$`` would also match before a trailing newline
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# a POSIX user or group name (a trailing '$' marks machine accounts), or a numeric id
_SYSTEM_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\$?")
# HTTP basic auth: ':' separates user from password; ';' and '#' start comments in supervisord.conf
_HTTP_USER = re.compile(r"[^\s:;#\x00-\x1f\x7f]+")
_SHA_DIGEST = re.compile(r"\{SHA\}[0-9a-fA-F]{40}")
_TRUE = ("true", "yes", "on", "1")  # supervisor.datatypes.boolean, case-insensitive
_FALSE = ("false", "no", "off", "0")


def _strip(value: Any) -> Any:
    # supervisord's parser strips values, so surrounding whitespace could never round-trip
    return value.strip() if isinstance(value, str) else value


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def _check_name(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise ValueError(
            f"invalid name {value!r}: use letters, digits, '_', '.' and '-', starting with a letter or digit "
            "(no ':', whitespace or shell characters)"
        )
    return value


def _check_process_name(value: str) -> str:
    # supervisor.datatypes.process_or_group_name
    if bad := [char for char in " :/" if char in value]:
        raise ValueError(f"process_name {value!r} may not contain {bad[0]!r}")
    return value


def _path(value: Any) -> Any:
    value = _strip(os.fspath(value) if isinstance(value, os.PathLike) else value)
    if value == "":
        raise ValueError("expected a path, got an empty string")
    return value


def _check_path(value: Path) -> Path:
    check_text(str(value))
    return value


def _logfile(value: Any) -> Any:
    value = _path(value)
    keyword = value.lower() if isinstance(value, str) else None
    if keyword == "syslog":
        raise ValueError("the 'syslog' log file name is deprecated in supervisord: set stdout_syslog/stderr_syslog")
    # supervisor.datatypes.logfile_name: auto -> AUTO, none/off -> NONE (case-insensitive)
    return {"auto": "AUTO", "none": "NONE", "off": "NONE"}.get(keyword or "", value)


def _check_logfile(value: Path | str) -> Path | str:
    check_text(str(value), expansions=2)  # expanded twice by supervisord (saneget, then expand())
    return value


def _bool(value: Any) -> Any:
    text = str(value).strip().lower()
    if isinstance(value, bool) or text in _TRUE + _FALSE:
        return value if isinstance(value, bool) else text in _TRUE
    raise ValueError(f"expected true or false (supervisord also reads yes/no, on/off, 1/0), got {value!r}")


def _autorestart(value: Any) -> Any:
    return "unexpected" if str(value).strip().lower() == "unexpected" else _bool(value)


def _octal(value: Any) -> str:
    text = "0" + format(value, "o") if isinstance(value, int) and not isinstance(value, bool) else _strip(value)
    if not isinstance(text, str) or not re.fullmatch(r"[0-7]{1,5}", text) or int(text, 8) > 0o7777:
        raise ValueError(f"expected an octal mode such as 022 or 0700 (or an int such as 0o700), got {value!r}")
    return text


def _byte_size(value: Any) -> str:
    text = str(value).strip() if isinstance(value, int | str) and not isinstance(value, bool) else ""
    if not re.fullmatch(r"\d+\s*(?:[KMG]B)?", text, re.IGNORECASE):
        raise ValueError(f"expected a size in bytes such as 1024, 10KB, 50MB or 1GB, got {value!r}")
    return text


def _signal_name(value: Any) -> Any:
    # supervisor.datatypes.signal_number accepts numbers and names with or without SIG
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        try:
            return signal.Signals(int(value)).name.removeprefix("SIG")
        except ValueError:
            raise ValueError(f"{value!r} is not a signal number") from None
    return value.strip().upper().removeprefix("SIG") if isinstance(value, str) else value


def _check_user_group(value: str) -> str:
    user, _, group = value.partition(":")
    if not _SYSTEM_NAME.fullmatch(user) or (group and not _SYSTEM_NAME.fullmatch(group)):
        raise ValueError(
            f"expected 'user' or 'user:group' (names or numeric ids: letters, digits, '_', '.', '-'), got {value!r}"
        )
    return value


def _check_system_user(value: str) -> str:
    if not _SYSTEM_NAME.fullmatch(value):
        raise ValueError(
            f"expected a user name or numeric uid (letters, digits, '_', '.', '-'; no spaces, ':' or ';'), "
            f"got {value!r}"
        )
    return value


def _check_http_user(value: str) -> str:
    if not _HTTP_USER.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a usable HTTP user name: no whitespace, control characters, ':' (it separates the "
            "user from the password), ';' or '#'"
        )
    return value


def _secret_text(value: Any) -> Any:
    # YAML reads `password: 123456` as a number; it is meant as text
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def _hash_password(value: Any) -> Any:
    """A server password as supervisord stores it best: ``{SHA}`` and the SHA-1 hex digest of the cleartext."""
    value = _secret_text(value)
    if not isinstance(value, str):
        return value  # pydantic reports the wrong type (inputs are hidden from its messages)
    if value.startswith("{SHA}"):
        if not _SHA_DIGEST.fullmatch(value):
            raise ValueError("a password starting with '{SHA}' must be '{SHA}' followed by 40 hex digits (SHA-1)")
        return value
    if not value:
        raise ValueError("the password is empty")
    # supervisord accepts the digest, so the cleartext is never kept in the model nor written to disk
    return "{SHA}" + hashlib.sha1(value.encode(), usedforsecurity=False).hexdigest()


def _check_client_password(value: str) -> str:
    if value.startswith("{SHA}"):
        raise ValueError(
            "supervisorctl sends its password as written, so a '{SHA}' digest can never log in; leave the password "
            "out and supervisorctl asks for it"
        )
    check_text(value, secret=True)
    return value


def _safe_path(value: Any) -> Any:
    value = os.fspath(value) if isinstance(value, os.PathLike) else value
    if value == "":
        raise ValueError("expected a path, got an empty string")
    return value


def _check_safe_path(value: Path) -> Path:
    text = str(value)
    if "\n" in text or "\r" in text or re.search(r"[\x00-\x1f\x7f]", text):
        raise ValueError(f"{text!r} contains a newline or another control character; use a plain path")
    return value


def _check_pattern(value: str) -> str:
    if re.search(r"\s", value):
        raise ValueError(f"{value!r}: [include] files are separated by whitespace, so a pattern cannot contain any")
    return value


def _check_server_url(value: str) -> str:
    # supervisor.xmlrpc.SupervisorTransport speaks http:// and unix:// only
    if not re.match(r"(?:https?://[^/\s]|unix://.)", value):
        raise ValueError(f"expected an http://host:port or unix:///path URL, got {value!r}")
    return value


def _host_port(value: Any) -> Any:
    text = str(value).strip() if isinstance(value, int | str) and not isinstance(value, bool) else None
    match = re.fullmatch(r"(?:(\S*):)?(\d+)", text or "")
    if match is None or not 1 <= int(match.group(2)) <= 65535:
        raise ValueError(f"expected host:port or port, port 1-65535 (e.g. 127.0.0.1:9001 or *:9001), got {value!r}")
    return text


def _environment(value: Any) -> Any:
    if isinstance(value, str):
        return parse_environment(value)
    if isinstance(value, dict):  # numbers in YAML mappings are meant as text
        return {k: str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v for k, v in value.items()}
    return value


def _check_env_name(value: str) -> str:
    if not _ENV_NAME.fullmatch(value):
        raise ValueError(f"environment: {value!r} is not a valid variable name (letters, digits and '_')")
    return value


def _env_value(expansions: int) -> Any:
    def check(value: str) -> str:
        check_environment_value(value, expansions=expansions)
        return value

    return AfterValidator(check)


def _check_event(value: str) -> str:
    if not re.fullmatch(r"[A-Z][A-Z0-9_]*", value):
        raise ValueError(f"{value!r} is not an event type name such as PROCESS_STATE or TICK_60")
    return value


Text = Annotated[str, BeforeValidator(_strip), AfterValidator(check_text)]
ProgramName = Annotated[str, AfterValidator(_check_name)]
ProcessName = Annotated[str, BeforeValidator(_strip), AfterValidator(check_text), AfterValidator(_check_process_name)]
FilePath = Annotated[Path, BeforeValidator(_path), AfterValidator(_check_path)]
LogFile = Annotated[Literal["AUTO", "NONE"] | Path, BeforeValidator(_logfile), AfterValidator(_check_logfile)]
Bool = Annotated[bool, BeforeValidator(_bool)]
AutoRestart = Annotated[bool | Literal["unexpected"], BeforeValidator(_autorestart)]
Octal = Annotated[str, BeforeValidator(_octal)]
ByteSize = Annotated[str, BeforeValidator(_byte_size)]
Signal = Annotated[Literal["TERM", "HUP", "INT", "QUIT", "KILL", "USR1", "USR2"], BeforeValidator(_signal_name)]
LogLevel = Annotated[
    Literal["critical", "error", "warn", "info", "debug", "trace", "blather"],
    BeforeValidator(_lower),
]
UserGroup = Annotated[str, BeforeValidator(_strip), AfterValidator(check_text), AfterValidator(_check_user_group)]
SystemUser = Annotated[str, BeforeValidator(_strip), AfterValidator(check_text), AfterValidator(_check_system_user)]
HttpUser = Annotated[str, BeforeValidator(_strip), AfterValidator(_check_http_user)]
#: A password supervisord checks: stored (and rendered) as ``{SHA}`` + SHA-1 hex digest; the cleartext is dropped.
ServerPassword = Annotated[str, BeforeValidator(_hash_password)]
#: A password a client sends (supervisorctl): kept as written; messages never repeat it.
ClientPassword = Annotated[str, BeforeValidator(_secret_text), AfterValidator(_check_client_password)]
#: A path this library uses itself (not rendered for supervisord): one line, no control characters.
SafePath = Annotated[Path, BeforeValidator(_safe_path), AfterValidator(_check_safe_path)]
HostPort = Annotated[str, BeforeValidator(_host_port), AfterValidator(check_text)]
ServerUrl = Annotated[str, BeforeValidator(_strip), AfterValidator(check_text), AfterValidator(_check_server_url)]
ProgramNames = Annotated[list[ProgramName], BeforeValidator(split_list), Field(min_length=1)]
EventNames = Annotated[
    list[Annotated[str, BeforeValidator(_upper), AfterValidator(_check_event)]],
    BeforeValidator(split_list),
    Field(min_length=1),
]
ExitCodes = Annotated[list[Annotated[int, Field(ge=0, le=255)]], BeforeValidator(split_list)]
FilePatterns = Annotated[
    list[Annotated[str, AfterValidator(check_text), AfterValidator(_check_pattern)]],
    BeforeValidator(lambda v: split_list(v, None)),
    Field(min_length=1),
]
_EnvName = Annotated[str, AfterValidator(_check_env_name)]
Environment = Annotated[dict[_EnvName, Annotated[str, _env_value(1)]], BeforeValidator(_environment)]
SupervisordEnvironment = Annotated[dict[_EnvName, Annotated[str, _env_value(2)]], BeforeValidator(_environment)]


class SectionModel(BaseModel):
    """Base of every section: supervisord's key names as fields; ``None`` means unset (not rendered)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True)

    #: Keys whose list values are separated by spaces in supervisord.conf instead of commas.
    space_separated: ClassVar[frozenset[str]] = frozenset()

    def to_cfg(self, key: str = "") -> str:
        """This section as supervisord.conf text, ``[program:<key>]``-style when ``key`` is given.

        airflow-supervisor's name; a whole file is rendered by ``SupervisorConfiguration.to_conf()``.
        """
        from .legacy import section_text

        return section_text(self, key)

    def ini_items(self) -> list[tuple[str, str]]:
        """``(key, text)`` for every set key, in field order (extra keys last)."""
        data = self.model_dump(exclude_none=True, by_alias=True)
        return [
            (key, render_value(value, sep=" " if key in self.space_separated else ",")) for key, value in data.items()
        ]
