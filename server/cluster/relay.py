"""What edges and workers say to each other besides the client's own messages: typed, and
converted to and from CBOR here and only here.

A client's messages cross as they came (bytes; a header marks JSON text), so the worker's
SessionController sees exactly what a WebSocket would have given it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

import cbor2

from ..protocol.codec import Encoding, as_encoding

VERSION = 1
TEXT = {"t": "1"}  # header of a message that was a text (JSON) frame
NEXT_SEQUENCE = "n"  # header of the stream's messages: the number of the session's next frame
CLOSE = "close"  # header of a connection's out message that closes the client (the code; no body)


R = TypeVar("R", bound="Relayed")


class RelayError(ValueError):
    """A relay message this process cannot read (another version, corrupt)."""


def _dump(obj: Any) -> bytes:
    return cbor2.dumps({"v": VERSION, **asdict(obj)})


def _load(cls: type[R], data: bytes) -> R:
    try:
        fields = cbor2.loads(data)
    except (cbor2.CBORDecodeError, ValueError) as e:
        raise RelayError(f"{cls.__name__}: not CBOR ({e})") from None
    if not isinstance(fields, dict) or fields.pop("v", None) != VERSION:
        raise RelayError(f"{cls.__name__}: not a version {VERSION} relay message")
    try:
        return cls(**fields)
    except TypeError as e:
        raise RelayError(f"{cls.__name__}: {e}") from None


class Relayed:
    """A relay message: its CBOR form (versioned), and back (RelayError when unreadable)."""

    def encode(self) -> bytes:
        return _dump(self)

    @classmethod
    def decode(cls: type[R], data: bytes | None) -> R:
        """``data`` None (a deleted record): RelayError, as for any unreadable record."""
        if data is None:
            raise RelayError(f"no {cls.__name__} in an empty record")
        return _load(cls, data)


def as_client_message(data: bytes, headers: dict[str, str] | None) -> bytes | str:
    return data.decode() if headers and headers.get("t") == "1" else data


def as_relayed(message: bytes | str) -> tuple[bytes, dict[str, str] | None]:
    return (message.encode(), TEXT) if isinstance(message, str) else (message, None)


@dataclass(frozen=True)
class Claim(Relayed):
    """Edge → the workers' queue group: a new connection's hello (``first``), or, with
    ``session_id``, a session whose worker was lost, to be taken over from ``next_sequence``."""

    conn: str
    edge: str
    first: bytes
    text: bool = False
    session_id: str | None = None
    next_sequence: int = 0


@dataclass(frozen=True)
class Claimed(Relayed):
    """The worker's answer: the session it holds for the connection (None: refused; the
    reasons went to the client on its out subject, with ``close_code`` when it must close)."""

    worker: str
    session_id: str | None = None
    format: str = "named"
    encoding: Encoding = "cbor"
    close_code: int | None = None

    def __post_init__(self) -> None:
        if as_encoding(self.encoding) is None:  # decoding turns this into a RelayError
            raise TypeError(f"encoding {self.encoding!r} is neither cbor nor json")


@dataclass(frozen=True)
class Control(Relayed):
    """Edge → the worker holding a session: ``stream`` (publish this format too), ``resume``
    (the client is back through ``conn`` on ``edge``, proving it with ``token``, its welcome's
    resume token, and ``server_token``, the server token its resume presented, which must be
    the one its hello presented) or ``ping`` (does the worker still answer for the session)."""

    op: str
    format: str = "named"
    encoding: str = "cbor"
    conn: str = ""
    edge: str = ""
    token: str = ""
    server_token: str | None = None


@dataclass(frozen=True)
class Event(Relayed):
    """A session's life, to the edges of its watchers: ``started`` (a session of this id or
    name runs again), ``paused`` (a named session's publisher left), ``ended``."""

    kind: str
    reason: str = ""


@dataclass
class DirectoryEntry(Relayed):
    """A session in the cluster's directory (JetStream KV, refreshed while its worker lives):
    who holds it, what a watcher's welcome says, and the configuration a reclaim restores."""

    worker: str
    edge: str
    conn: str
    welcome: dict[str, Any]
    config: dict[str, Any] = field(default_factory=dict)
    named: bool = False
