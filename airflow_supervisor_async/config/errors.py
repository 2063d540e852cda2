"""One error type for every configuration problem, with messages that name the field and the value."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import ValidationError

__all__ = ("ConfigurationError", "format_validation_error")

# Inputs under these keys are never echoed back in an error message.
_SECRET_KEYS = frozenset({"password", "passphrase", "private_key", "secret", "token"})


class ConfigurationError(ValueError):
    """The configuration is invalid; nothing was written or started.

    ``problems`` holds one ``(path, message)`` pair per problem, ``path`` in dotted form
    (``program.feed.command``).
    """

    def __init__(self, problems: list[tuple[str, str]], source: str | None = None) -> None:
        self.problems = problems
        self.source = source
        where = f" in {source}" if source else ""
        lines = [f"invalid supervisor configuration{where}:"] + [f"  {path}: {msg}" for path, msg in problems]
        super().__init__("\n".join(lines))


def _dotted(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        # pydantic inserts validator names (e.g. "function-after[...]") into locations; they mean nothing to users
        if isinstance(item, str) and ("[" in item or item.startswith("function-")):
            continue
        parts.append(f"[{item}]" if isinstance(item, int) else str(item))
    return ".".join(parts).replace(".[", "[") or "(top level)"


def _masked(value: Any) -> Any:
    """``value`` with the values of secret keys replaced, at any depth (a whole document may be the input)."""
    if isinstance(value, dict):
        return {k: "<hidden>" if str(k).lower() in _SECRET_KEYS else _masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(v) for v in value]
    return value


def _is_secret(loc: tuple[int | str, ...]) -> bool:
    return any(str(part).lower() in _SECRET_KEYS for part in loc)


def _without_secret(message: str, loc: tuple[int | str, ...], value: Any) -> str:
    """``message`` with the input of a secret field blanked out, should a validator have repeated it."""
    text = value.get_secret_value() if hasattr(value, "get_secret_value") else value
    if _is_secret(loc) and isinstance(text, str) and text:
        message = message.replace(repr(text), "<hidden>").replace(text, "<hidden>")
    return message


def _describe_input(loc: tuple[int | str, ...], value: Any) -> str:
    if _is_secret(loc):
        return "<hidden>"
    if isinstance(value, timedelta):  # as given (seconds), not as timedelta(days=-1, seconds=86397)
        seconds = value.total_seconds()
        return f"{int(seconds) if seconds.is_integer() else seconds} s"
    text = repr(_masked(value))
    return text if len(text) <= 80 else text[:77] + "..."


def format_validation_error(error: ValidationError, prefix: str = "") -> list[tuple[str, str]]:
    """Turn a pydantic ``ValidationError`` into ``(dotted path, message)`` pairs for users."""
    problems: list[tuple[str, str]] = []
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        path = _dotted(loc)
        if prefix:
            path = f"{prefix}.{path}" if path != "(top level)" else prefix
        kind = item["type"]
        if kind == "extra_forbidden":
            message = f"unknown key {str(loc[-1])!r} (not a supported option here; check the spelling)"
        elif kind == "missing":
            message = "required but missing"
        else:
            msg = item["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
            msg = _without_secret(msg, loc, item.get("input"))
            value = item.get("input")
            # a whole section or model is not worth repeating, and may hold a secret
            shown = (
                ""
                if isinstance(value, dict) or hasattr(value, "model_fields")
                else f" (got {_describe_input(loc, value)})"
            )
            message = msg + shown
        problems.append((path, message))
    return problems
