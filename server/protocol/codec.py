"""Wire encodings. The only module that touches cbor2 and json for messages.

Every message is one map: {type, session_id, timestamp_ms, sequence, payload}.
Binary WebSocket messages are CBOR (RFC 8949); text messages are JSON with byte
strings as base64. Packed avatar frames use integer keys (see packed.py).
"""

from __future__ import annotations

import base64
import io
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import cbor2

from .constants import ErrorCode

Encoding = Literal["cbor", "json"]


def as_encoding(value: object) -> Encoding | None:
    """``value`` as an Encoding, or None when it names none (a query parameter, a relay field)."""
    return "cbor" if value == "cbor" else "json" if value == "json" else None


# No message of the protocol nests deeper than a few levels; deeper ones (or CBOR shared
# references that make a structure contain itself) are refused before anything walks them.
MAX_DEPTH = 16


class ProtocolError(ValueError):
    """A message the server cannot accept; ``code`` goes into the error message."""

    def __init__(self, code: ErrorCode, message: str):
        super().__init__(message)
        self.code = ErrorCode(code)
        self.message = message


@dataclass
class Envelope:
    type: str
    payload: dict[str, Any] = field(default_factory=dict)
    session_id: str | None = None
    timestamp_ms: int | None = None
    sequence: int | None = None

    def to_map(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "session_id": self.session_id,
            "timestamp_ms": self.timestamp_ms,
            "sequence": self.sequence,
            "payload": self.payload,
        }


def encode(envelope: Envelope, encoding: Encoding = "cbor") -> bytes | str:
    return encode_map(envelope.to_map(), encoding)


def encode_map(value: dict[Any, Any], encoding: Encoding) -> bytes | str:
    if encoding == "cbor":
        return cbor2.dumps(value)
    return json.dumps(_jsonable(value), separators=(",", ":"), allow_nan=False)


def _jsonable(v: Any) -> Any:
    if isinstance(v, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(v)).decode("ascii")
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def decode(data: bytes | str) -> tuple[Envelope, Encoding]:
    """Parse one client message into an Envelope, or raise ProtocolError('bad_message')."""
    if isinstance(data, str):
        encoding: Encoding = "json"
        try:
            value = json.loads(data)
        except (ValueError, RecursionError) as e:
            raise ProtocolError(ErrorCode.BAD_MESSAGE, f"text message is not valid JSON: {_short(e)}") from None
    else:
        encoding = "cbor"
        value = _cbor_item(data)
    value = _plain(value, 0)
    if not isinstance(value, dict):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"a message must be a map, got {type(value).__name__}")
    kind = value.get("type")
    if not isinstance(kind, str):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "message has no string 'type'")
    payload = value.get("payload", {})
    if payload is None:
        payload = {}
    if not isinstance(payload, dict):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"'payload' must be a map, got {type(payload).__name__}")
    numbers = {}
    for key in ("timestamp_ms", "sequence"):
        numbers[key] = _integer(value.get(key), key)
    sid = value.get("session_id")
    return Envelope(
        kind, payload, sid if isinstance(sid, str) else None, numbers["timestamp_ms"], numbers["sequence"]
    ), encoding


def _cbor_item(data: bytes) -> Any:
    """Exactly one CBOR data item (RFC 8949 §5.1: a self-described one, tag 55799, too)."""
    stream = io.BytesIO(data)
    try:
        value = cbor2.CBORDecoder(stream).decode()
    except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError, RecursionError) as e:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"binary message is not valid CBOR: {_short(e)}") from None
    if stream.tell() != len(data):
        raise ProtocolError(
            ErrorCode.BAD_MESSAGE,
            f"binary message has {len(data) - stream.tell()} bytes after "
            "its CBOR item: send one message per WebSocket message",
        )
    return value


def _plain(v: Any, depth: int) -> Any:
    """Maps (cbor2's frozendict too) as dicts, every level checked against MAX_DEPTH."""
    if isinstance(v, Mapping):
        if depth >= MAX_DEPTH:
            raise ProtocolError(ErrorCode.BAD_MESSAGE, f"message nests deeper than {MAX_DEPTH} levels")
        return {k: _plain(x, depth + 1) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        if depth >= MAX_DEPTH:
            raise ProtocolError(ErrorCode.BAD_MESSAGE, f"message nests deeper than {MAX_DEPTH} levels")
        return [_plain(x, depth + 1) for x in v]
    return v


def _short(e: Exception, limit: int = 200) -> str:
    text = str(e)
    return text if len(text) <= limit else text[:limit] + "…"


def _integer(v: Any, key: str) -> int | None:
    """An integer field; integral floats are accepted (JavaScript encoders write large
    integers such as epoch milliseconds as float64)."""
    if v is None:
        return None
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, bool) or not isinstance(v, int):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"{key!r} must be an integer")
    return v


def payload_bytes(payload: dict[str, Any], key: str, encoding: Encoding) -> bytes:
    """A byte-string field: raw bytes in CBOR, base64 text in JSON."""
    v = payload.get(key)
    if isinstance(v, (bytes, bytearray)):
        return bytes(v)
    if encoding == "json" and isinstance(v, str):
        try:
            return base64.b64decode(v, validate=True)
        except ValueError:
            raise ProtocolError(ErrorCode.BAD_MESSAGE, f"{key!r} is not valid base64") from None
    raise ProtocolError(ErrorCode.BAD_MESSAGE, f"payload needs {key!r} as a byte string")
