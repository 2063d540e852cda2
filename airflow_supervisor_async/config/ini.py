"""How values are written into supervisord.conf and read back, as supervisord's own parser sees them.

Facts checked against supervisor 4.x (``supervisor.options`` / ``supervisor.datatypes``):

* Lines are read by ``UnhosedConfigParser``, a ``RawConfigParser`` with ``inline_comment_prefixes=(";", "#")``:
  a ``;`` or ``#`` preceded by whitespace starts a comment wherever it is (quotes do not protect it), and
  there is no escape for it. Such values cannot be written, so they are rejected.
* Nearly every value goes through ``value % expansions`` once; ``[supervisord] environment`` and the
  ``stdout_logfile``/``stderr_logfile`` of programs go through it twice, so a literal percent sign is
  ``%%`` there ``%%%%``.
* ``environment`` is split by ``dict_of_key_value_pairs``: a *non-POSIX* ``shlex`` that knows no backslash
  escapes. A quoted value ends at the next quote of the same kind, backslashes stay literal, and leading or
  trailing quote characters are stripped from every value. So a value is quoted with whichever quote it
  does not contain; a value holding both kinds, or starting or ending with a quote, cannot be written.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = (
    "check_environment_value",
    "check_text",
    "parse_environment",
    "quote_environment_value",
    "render_value",
    "split_list",
)

# One ``%`` directive as Python's ``%`` operator reads it (left to right): ``%%`` or ``%(name)<flags><width>...``
_DIRECTIVE = re.compile(r"%%|%\([A-Za-z0-9_]+\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")
_INLINE_COMMENT = re.compile(r"\s[;#]")
# C0 controls and DEL, except the tab (newlines have their own message)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# A stand-in for an expansion while shlex splits ``environment``: only shlex word characters, so it stays
# inside the word around it, as the expanded text does in supervisord (which expands before splitting).
_PLACEHOLDER = "__supervisor_expansion_{}__"
_PLACEHOLDER_RE = re.compile(r"__supervisor_expansion_(\d+)__")


def _percent_error(shown: str, expansions: int) -> ValueError:
    if expansions > 1:
        what = "a '%' that supervisord's double expansion cannot take: a literal percent sign is written '%%%%' here"
    else:
        what = "a bare '%': write '%%' for a literal percent sign"
    return ValueError(
        f"{shown} has {what}, or use a supervisord expansion such as %(here)s, %(program_name)s, "
        "%(process_num)02d or %(ENV_HOME)s"
    )


def check_text(value: str, *, expansions: int = 1, secret: bool = False) -> str:
    """Reject text that supervisord's parser would cut, mangle or refuse; ``expansions``: how often it expands it.

    With ``secret`` the messages say "the value" instead of repeating it.
    """
    shown = "the value" if secret else repr(value)
    if "\n" in value or "\r" in value:
        raise ValueError(
            f"{shown} must be a single line (an indented continuation line in supervisord.conf becomes a "
            "newline, which this key does not accept)"
        )
    if control := _CONTROL.search(value):
        raise ValueError(f"{shown} contains the control character {control.group()!r}, which has no place in a config")
    if _INLINE_COMMENT.search(value):
        raise ValueError(
            f"{shown} contains a space or tab followed by ';' or '#', which supervisord's config parser treats "
            "as the start of a comment (everything after it would be lost, quotes do not help); remove the space"
        )
    text = value
    for _ in range(expansions):
        if "%" in _DIRECTIVE.sub("", text):
            raise _percent_error(shown, expansions)
        # what supervisord's ``%`` leaves: literal percents, and expansions (assumed to hold no ``%``)
        text = _DIRECTIVE.sub(lambda m: "%" if m.group() == "%%" else "", text)
    return value


def check_environment_value(value: str, *, expansions: int = 1) -> None:
    """Reject an environment value that ``dict_of_key_value_pairs`` cannot give back unchanged."""
    if value[:1] in ("'", '"') or value[-1:] in ("'", '"'):
        raise ValueError(
            f"{value!r}: an environment value may not start or end with a quote character "
            "(supervisord strips quotes from both ends of every value)"
        )
    if '"' in value and "'" in value:
        raise ValueError(
            f"{value!r}: an environment value may hold ' or \" but not both (supervisord's environment "
            "syntax has no escapes, so such a value cannot be quoted)"
        )
    check_text(value, expansions=expansions)


def quote_environment_value(value: str) -> str:
    """Quote with the quote character the value does not contain (backslashes stay literal)."""
    return f"'{value}'" if '"' in value else f'"{value}"'


def parse_environment(text: str) -> dict[str, str]:
    """``KEY="value",KEY2=value2`` as supervisord reads it, with ``%`` expansions kept verbatim."""
    from supervisor.datatypes import dict_of_key_value_pairs

    hidden: list[str] = []

    def hide(match: re.Match[str]) -> str:
        hidden.append(match.group())
        return _PLACEHOLDER.format(len(hidden) - 1)

    def restore(value: str) -> str:
        return _PLACEHOLDER_RE.sub(lambda m: hidden[int(m.group(1))], value)

    pairs = dict_of_key_value_pairs(_DIRECTIVE.sub(hide, text))
    return {restore(key): restore(value) for key, value in pairs.items()}


def split_list(value: Any, sep: str | None = ",") -> Any:
    """Split list text (``a, b`` or, with ``sep=None``, ``a b``); other input is left to pydantic."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(sep) if part.strip()]
    return value


def render_value(value: Any, *, sep: str = ",") -> str:
    """The INI text of one value: booleans ``true``/``false``, lists joined by ``sep``, mappings as environment."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return ",".join(f"{key}={quote_environment_value(str(item))}" for key, item in value.items())
    if isinstance(value, list | tuple):
        return sep.join(render_value(item) for item in value)
    return str(value)
