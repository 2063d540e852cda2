"""Exceptions raised by the supervisord client and the SSH layer (``client/``, ``ssh/``, ``host/``).

They live below those packages so that each can raise them without importing the others; import them
from ``airflow_supervisor_async.client`` as before. Everything derives from ``SupervisorError``. Two families:

- ``SupervisorFault`` and its subclasses: supervisord answered, and the answer is an XML-RPC fault
  (unknown program, already started, ...). One subclass per fault code of ``supervisor.xmlrpc.Faults``;
  ``SupervisorFault.from_code()`` picks it.
- ``SupervisorTransportError`` and its subclasses: no usable answer -- cannot connect, timeout,
  HTTP 401, response too large, not XML-RPC at all, SSH failures.

Messages name the address (never a password) and say what went wrong.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, ClassVar

__all__ = (
    "AbnormalTerminationFault",
    "AlreadyAddedFault",
    "AlreadyStartedFault",
    "BadArgumentsFault",
    "BadNameFault",
    "BadSignalFault",
    "CantRereadFault",
    "FailedFault",
    "Faults",
    "IncorrectParametersFault",
    "NoFileFault",
    "NotExecutableFault",
    "NotRunningFault",
    "ResponseTooLargeError",
    "SSHAuthError",
    "SSHHostKeyError",
    "ShutdownStateFault",
    "SignatureUnsupportedFault",
    "SpawnErrorFault",
    "StillRunningFault",
    "SupervisorAuthError",
    "SupervisorConnectionError",
    "SupervisorError",
    "SupervisorFault",
    "SupervisorProtocolError",
    "SupervisorSSHError",
    "SupervisorTimeoutError",
    "SupervisorTransportError",
    "UnknownMethodFault",
)


class Faults(IntEnum):
    """supervisord's XML-RPC fault codes (``supervisor.xmlrpc.Faults``); ``SUCCESS`` marks an OK status."""

    UNKNOWN_METHOD = 1
    INCORRECT_PARAMETERS = 2
    BAD_ARGUMENTS = 3
    SIGNATURE_UNSUPPORTED = 4
    SHUTDOWN_STATE = 6
    BAD_NAME = 10
    BAD_SIGNAL = 11
    NO_FILE = 20
    NOT_EXECUTABLE = 21
    FAILED = 30
    ABNORMAL_TERMINATION = 40
    SPAWN_ERROR = 50
    ALREADY_STARTED = 60
    NOT_RUNNING = 70
    SUCCESS = 80
    ALREADY_ADDED = 90
    STILL_RUNNING = 91
    CANT_REREAD = 92


class SupervisorError(Exception):
    """Base class of every error of the supervisord client."""


# -- faults: supervisord answered with an XML-RPC fault ---------------------------------------------


class SupervisorFault(SupervisorError):  # noqa: N818 (the name the project uses)
    """supervisord answered the call with an XML-RPC fault.

    :param code: the fault code (an ``int``; ``Faults`` names the known ones).
    :param text: supervisord's fault string, e.g. ``"BAD_NAME: nosuchprogram"``.
    :param method: the XML-RPC method that failed, e.g. ``"supervisor.startProcess"``, if known.
    :param where: the endpoint's description (no secrets), if known.
    """

    fault: ClassVar[Faults | None] = None
    _by_code: ClassVar[dict[int, type[SupervisorFault]]] = {}

    def __init__(self, code: int, text: str, method: str | None = None, where: str | None = None) -> None:
        super().__init__(code, text, method, where)
        self.code = int(code)
        self.text = text
        self.method = method
        self.where = where

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.fault is not None:
            SupervisorFault._by_code[int(cls.fault)] = cls

    @property
    def name(self) -> str:
        """Symbolic name of the code (``"BAD_NAME"``), or ``"UNKNOWN"`` for a code supervisord does not define."""
        try:
            return Faults(self.code).name
        except ValueError:
            return "UNKNOWN"

    def __str__(self) -> str:
        call = f"{self.method}: " if self.method else ""
        at = f" at {self.where}" if self.where else ""
        return f"{call}{self.text} (fault {self.code}{at})"

    @classmethod
    def from_code(cls, code: int, text: str, method: str | None = None, where: str | None = None) -> SupervisorFault:
        """The instance of the subclass for ``code`` (plain ``SupervisorFault`` for unknown codes)."""
        return cls._by_code.get(int(code), SupervisorFault)(int(code), text, method, where)


class UnknownMethodFault(SupervisorFault):
    """``UNKNOWN_METHOD`` (1): no such XML-RPC method (e.g. the rpcinterface is not configured)."""

    fault = Faults.UNKNOWN_METHOD


class IncorrectParametersFault(SupervisorFault):
    """``INCORRECT_PARAMETERS`` (2): wrong number or type of arguments."""

    fault = Faults.INCORRECT_PARAMETERS


class BadArgumentsFault(SupervisorFault):
    """``BAD_ARGUMENTS`` (3): invalid argument values (e.g. a negative log offset)."""

    fault = Faults.BAD_ARGUMENTS


class SignatureUnsupportedFault(SupervisorFault):
    """``SIGNATURE_UNSUPPORTED`` (4): introspection is not available for the method."""

    fault = Faults.SIGNATURE_UNSUPPORTED


class ShutdownStateFault(SupervisorFault):
    """``SHUTDOWN_STATE`` (6): supervisord is shutting down and refuses the call."""

    fault = Faults.SHUTDOWN_STATE


class BadNameFault(SupervisorFault):
    """``BAD_NAME`` (10): no program, process or group of that name."""

    fault = Faults.BAD_NAME


class BadSignalFault(SupervisorFault):
    """``BAD_SIGNAL`` (11): unknown signal name or number."""

    fault = Faults.BAD_SIGNAL


class NoFileFault(SupervisorFault):
    """``NO_FILE`` (20): the log file does not exist, or the process closed its stdin."""

    fault = Faults.NO_FILE


class NotExecutableFault(SupervisorFault):
    """``NOT_EXECUTABLE`` (21): the program's command is not executable."""

    fault = Faults.NOT_EXECUTABLE


class FailedFault(SupervisorFault):
    """``FAILED`` (30): the operation failed (e.g. the process did not stop, a log could not be removed)."""

    fault = Faults.FAILED


class AbnormalTerminationFault(SupervisorFault):
    """``ABNORMAL_TERMINATION`` (40): the process exited before reaching RUNNING (``startsecs``)."""

    fault = Faults.ABNORMAL_TERMINATION


class SpawnErrorFault(SupervisorFault):
    """``SPAWN_ERROR`` (50): supervisord could not spawn the process (e.g. command not found)."""

    fault = Faults.SPAWN_ERROR


class AlreadyStartedFault(SupervisorFault):
    """``ALREADY_STARTED`` (60): the process is already running."""

    fault = Faults.ALREADY_STARTED


class NotRunningFault(SupervisorFault):
    """``NOT_RUNNING`` (70): the process is not running."""

    fault = Faults.NOT_RUNNING


class AlreadyAddedFault(SupervisorFault):
    """``ALREADY_ADDED`` (90): the process group is already active."""

    fault = Faults.ALREADY_ADDED


class StillRunningFault(SupervisorFault):
    """``STILL_RUNNING`` (91): the group cannot be removed while processes of it run."""

    fault = Faults.STILL_RUNNING


class CantRereadFault(SupervisorFault):
    """``CANT_REREAD`` (92): supervisord could not re-read its configuration file."""

    fault = Faults.CANT_REREAD


# -- transport: no usable answer ----------------------------------------------------------------------


class SupervisorTransportError(SupervisorError):
    """No usable answer from supervisord (connection, timeout, HTTP or protocol trouble)."""


class SupervisorConnectionError(SupervisorTransportError, ConnectionError):
    """Cannot connect to supervisord, or the connection broke during the call."""


class SupervisorTimeoutError(SupervisorTransportError, TimeoutError):
    """Connecting or waiting for the answer took longer than the configured timeout."""


class SupervisorAuthError(SupervisorTransportError):
    """supervisord (HTTP 401) or the SSH server refused the credentials. Retrying does not help."""


class ResponseTooLargeError(SupervisorTransportError):
    """The response is larger than the client's ``max_response_bytes``; it was not read further."""


class SupervisorProtocolError(SupervisorTransportError):
    """The answer is not a valid XML-RPC response (garbage, forbidden XML, unexpected HTTP status).

    :param status: the HTTP status, when the problem is one.
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message, status)
        self.status = status

    def __str__(self) -> str:
        return str(self.args[0])


class SupervisorSSHError(SupervisorConnectionError):
    """The SSH connection to the remote host failed or broke."""


class SSHHostKeyError(SupervisorSSHError, SupervisorAuthError):
    """The remote host key is not trusted (not in known_hosts, or it changed). Retrying does not help."""


class SSHAuthError(SupervisorSSHError, SupervisorAuthError):
    """The SSH server refused the user's key or password. Retrying does not help."""
