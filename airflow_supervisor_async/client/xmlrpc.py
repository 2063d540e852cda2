"""XML-RPC encoding and (safe, fast) decoding.

Requests are built with the standard library's ``xmlrpc.client.dumps``.

Responses are parsed with ``xml.etree.ElementTree`` (expat with C-accelerated tree building) and a
small converter that walks the children by position. Measured on a 3-program ``getAllProcessInfo``
answer (4 kB): ~0.2 ms, where expat driving Python handlers (no tree; what ``xmlrpc.client.loads``
does, and a leaner state machine we tried) takes 0.4-0.5 ms: one Python call per XML event costs more
than building the tree in C and walking it. The tree's elements are freed within the same loop step,
before any other coroutine runs (see ``benchmarks/client_latency.py`` for CPU and allocations per call).

Before parsing, a cheap screen refuses anything that does not start like an XML-RPC response and any
``<!DOCTYPE``/``<!ENTITY`` declaration, so entity-expansion bombs never reach the parser (supervisord
never sends either). Structs and arrays nested deeper than ``MAX_DEPTH`` levels are refused.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import xml.etree.ElementTree as ET
import xmlrpc.client
from datetime import datetime
from typing import Any

from .errors import SupervisorFault, SupervisorProtocolError

__all__ = ("LARGE_BODY", "MAX_DEPTH", "PARSE_SLICE", "decode_response", "decode_response_async", "encode_request")

#: Bodies at least this large (bytes) are parsed in slices and converted in a worker thread.
LARGE_BODY = 256 * 1024
#: Bytes fed to the XML parser at a time for large bodies.
PARSE_SLICE = 128 * 1024

#: Deepest nesting of structs and arrays accepted (supervisord's answers nest two levels).
MAX_DEPTH = 100

_FORBIDDEN = (b"<!DOCTYPE", b"<!ENTITY")
_STARTS = (b"<?xml", b"<methodResponse")


def encode_request(method: str, params: tuple[Any, ...]) -> bytes:
    """The XML-RPC request body (UTF-8) calling ``method`` with ``params``."""
    return xmlrpc.client.dumps(params, method, encoding="utf-8").encode("utf-8")


def _text(elem: ET.Element) -> str:
    return elem.text or ""


def _boolean(elem: ET.Element) -> bool:
    try:
        return {"1": True, "0": False}[_text(elem).strip()]
    except KeyError:
        raise ValueError(f"invalid boolean {elem.text!r}") from None


_SCALARS: dict[str, Any] = {
    "int": lambda e: int(_text(e)),
    "i4": lambda e: int(_text(e)),
    "i8": lambda e: int(_text(e)),
    "boolean": _boolean,
    "double": lambda e: float(_text(e)),
    "base64": lambda e: base64.b64decode(_text(e), validate=False),
    "dateTime.iso8601": lambda e: datetime.strptime(_text(e).strip(), "%Y%m%dT%H:%M:%S"),
    "nil": lambda e: None,
}


def _value(value: ET.Element, depth: int = 0) -> Any:
    """The Python value of one ``<value>`` element (``<value>text</value>`` without a type is a string)."""
    if len(value) == 0:
        return value.text or ""
    typed = value[0]
    tag = typed.tag
    if tag == "string":  # most of supervisord's values: tested first
        return typed.text or ""
    if tag == "struct":
        if depth >= MAX_DEPTH:
            raise ValueError(f"structs and arrays nested deeper than {MAX_DEPTH} levels")
        out: dict[str, Any] = {}
        for member in typed:  # <member><name>n</name><value>v</value></member>
            if len(member) != 2 or member[0].tag != "name" or member[1].tag != "value":
                raise ValueError("struct member without name or value")
            out[member[0].text or ""] = _value(member[1], depth + 1)
        return out
    if tag == "array":
        if depth >= MAX_DEPTH:
            raise ValueError(f"structs and arrays nested deeper than {MAX_DEPTH} levels")
        if len(typed) != 1 or typed[0].tag != "data":
            raise ValueError("array without data")
        return [_value(item, depth + 1) for item in typed[0]]
    try:
        convert = _SCALARS[tag]
    except KeyError:
        raise ValueError(f"unknown XML-RPC type <{tag}>") from None
    return convert(typed)


def _interpret(root: ET.Element) -> tuple[Any, dict[str, Any] | None]:
    """``(value, None)`` for a normal response, ``(None, fault_struct)`` for a fault."""
    if root.tag != "methodResponse":
        raise ValueError(f"root element is <{root.tag}>, not <methodResponse>")
    fault = root.find("fault/value")
    if fault is not None:
        struct = _value(fault)
        if not isinstance(struct, dict):
            raise ValueError("fault is not a struct")
        return None, struct
    params = root.findall("params/param/value")
    if len(params) != 1:
        raise ValueError(f"{len(params)} values instead of 1")
    return _value(params[0]), None


def _interpret_held(held: list[ET.Element]) -> tuple[Any, dict[str, Any] | None]:
    root = held.pop()  # the only reference: the big tree is freed in this (worker) thread
    return _interpret(root)


def _screen(body: bytes, method: str, source: str) -> None:
    head = body.lstrip()[:64]
    if not head.startswith(_STARTS):
        raise SupervisorProtocolError(f"{method}: the answer from {source} is not XML-RPC: {head!r}")
    if any(bad in body for bad in _FORBIDDEN):
        raise SupervisorProtocolError(f"{method}: the answer from {source} declares a DOCTYPE or entities; refused")


def _invalid(method: str, source: str, exc: BaseException) -> SupervisorProtocolError:
    return SupervisorProtocolError(
        f"{method}: the answer from {source} is not a valid XML-RPC response: {type(exc).__name__}: {exc}"
    )


def _result(parsed: tuple[Any, dict[str, Any] | None], method: str, where: str | None) -> Any:
    value, fault = parsed
    if fault is None:
        return value
    try:
        code, text = int(fault["faultCode"]), str(fault["faultString"])
    except (KeyError, TypeError, ValueError) as exc:
        raise _invalid(method, where or "the server", exc) from None
    raise SupervisorFault.from_code(code, text, method, where)


_ERRORS = (ET.ParseError, ValueError, TypeError, KeyError, binascii.Error)


def decode_response(body: bytes, method: str, where: str | None = None) -> Any:
    """The value of an XML-RPC response body (parsed right here: use for small bodies).

    :raises SupervisorFault: (the subclass for the code) if the response is a fault.
    :raises SupervisorProtocolError: if the body is not a well-formed XML-RPC response, or declares a
        DOCTYPE/entities.
    """
    source = where or "the server"
    _screen(body, method, source)
    try:
        parsed = _interpret(ET.fromstring(body))  # DOCTYPE and entities were refused by _screen
    except _ERRORS as exc:
        raise _invalid(method, source, exc) from None
    return _result(parsed, method, where)


async def decode_response_async(body: bytes, method: str, where: str | None = None) -> Any:
    """Like ``decode_response``, without blocking the event loop on large bodies.

    expat keeps the GIL for a whole ``feed()``, so a thread would not help the parse itself: bodies of
    ``LARGE_BODY`` bytes or more are fed to the parser in ``PARSE_SLICE`` slices (~2 ms each), yielding to
    the loop in between; the tree is then converted (pure Python, which shares the GIL) and freed in a
    worker thread.
    """
    if len(body) < LARGE_BODY:
        return decode_response(body, method, where)
    source = where or "the server"
    _screen(body, method, source)
    try:
        parser = ET.XMLParser()
        for start in range(0, len(body), PARSE_SLICE):
            parser.feed(body[start : start + PARSE_SLICE])
            await asyncio.sleep(0)
        held = [parser.close()]
        del parser
        parsed = await asyncio.to_thread(_interpret_held, held)
    except _ERRORS as exc:
        raise _invalid(method, source, exc) from None
    return _result(parsed, method, where)
