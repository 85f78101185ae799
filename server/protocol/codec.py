"""Wire encodings. The only module that touches cbor2 and json for messages.

Every message is one map: {type, session_id, timestamp_ms, sequence, payload}.
Binary WebSocket messages are CBOR (RFC 8949); text messages are JSON with byte
strings as base64. Packed avatar frames use integer keys (see packed.py).
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import cbor2

from .constants import ErrorCode

Encoding = Literal["cbor", "json"]


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
        except ValueError as e:
            raise ProtocolError(ErrorCode.BAD_MESSAGE, f"text message is not valid JSON: {e}") from None
    else:
        encoding = "cbor"
        try:
            value = cbor2.loads(data)
        except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError) as e:
            raise ProtocolError(ErrorCode.BAD_MESSAGE, f"binary message is not valid CBOR: {e}") from None
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
    return Envelope(kind, payload, sid if isinstance(sid, str) else None,
                    numbers["timestamp_ms"], numbers["sequence"]), encoding


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
