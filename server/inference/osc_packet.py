"""A bounded OSC 1.0 parser for datagrams from the network (VMC in, server/inference/vmc_input.py).

Why not python-osc's parser: it trusts the sizes a datagram states. A bundle element of size −4
sends its loop backwards forever (one 20-byte datagram hung the server), a zero size logs a
warning per byte, and nesting recurses without a bound (RecursionError). python-osc stays for
building OSC (server/sinks/vmc.py); nothing from the network reaches its parser.

Every step here moves forward through the datagram and checks a stated size before it uses it,
so the cost of a parse is linear in the datagram's bytes, whatever they say:

* a packet is a message (starts with ``/``) or a bundle (``#bundle\\0``, a time tag, then
  elements, each an int32 size and that many bytes); an element's size must be > 0, a multiple
  of 4 and within what is left of its bundle;
* bundles nest at most ``max_depth`` deep, and a datagram holds at most ``max_messages``
  messages (``OscLimits``);
* a message is an address (an OSC-string starting with ``/``), a type tag string (``,`` then
  tags; a message that ends right after its address has no arguments) and the arguments, which
  must end exactly where the message ends; tags: ``i f d s b T F N h t``;
* OSC-strings are UTF-8, NUL-terminated and NUL-padded to a multiple of 4 bytes.

Anything else raises ``OscPacketError`` whose ``reason`` (a short fixed word) is the metric
label of the drop. Time tags are read and not used: VMC bundles are "immediately".
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import NamedTuple

BUNDLE_PREFIX = b"#bundle\x00"
_BUNDLE_HEADER = 16  # "#bundle\0" and the 8-byte time tag
_INT32 = struct.Struct(">i")
_FLOAT32 = struct.Struct(">f")
_INT64 = struct.Struct(">q")
_UINT64 = struct.Struct(">Q")
_FLOAT64 = struct.Struct(">d")

OscArg = int | float | str | bytes | bool | None

# The reasons a datagram is refused (each one is a label of avatar_driver_vmc_dropped_total).
MALFORMED = "malformed"  # not OSC, truncated, a bad string or type tag string, bytes left over
BAD_ELEMENT_SIZE = "bad_element_size"  # a bundle element's size is ≤ 0, not a multiple of 4 or past the end
TOO_DEEP = "too_deep"
TOO_MANY_MESSAGES = "too_many_messages"
UNSUPPORTED_TYPE = "unsupported_type"  # a type tag other than i f d s b T F N h t
REASONS = (MALFORMED, BAD_ELEMENT_SIZE, TOO_DEEP, TOO_MANY_MESSAGES, UNSUPPORTED_TYPE)


class OscPacketError(ValueError):
    """A datagram that is not OSC this parser takes; ``reason`` is one of ``REASONS``."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


class OscMessage(NamedTuple):
    address: str
    args: tuple[OscArg, ...]


@dataclass(frozen=True)
class OscLimits:
    max_depth: int = 8  # bundles within bundles; the top-level bundle is depth 1
    max_messages: int = 1024  # messages in one datagram, all bundles together


def parse(data: bytes, limits: OscLimits = OscLimits()) -> list[OscMessage]:
    """The messages of one datagram, in order (nested bundles flattened); or OscPacketError."""
    out: list[OscMessage] = []
    if data.startswith(BUNDLE_PREFIX):
        _bundle(data, 0, len(data), 1, limits, out)
    elif data.startswith(b"/"):
        out.append(_message(data, 0, len(data)))
    else:
        raise OscPacketError(MALFORMED, "neither a message nor a bundle")
    return out


def _bundle(data: bytes, start: int, end: int, depth: int, limits: OscLimits, out: list[OscMessage]) -> None:
    if depth > limits.max_depth:
        raise OscPacketError(TOO_DEEP, f"bundles nested deeper than {limits.max_depth}")
    if end - start < _BUNDLE_HEADER:
        raise OscPacketError(MALFORMED, "bundle shorter than its header")
    pos = start + _BUNDLE_HEADER
    while pos < end:
        if end - pos < 4:
            raise OscPacketError(BAD_ELEMENT_SIZE, "element size truncated")
        (size,) = _INT32.unpack_from(data, pos)
        pos += 4
        if size <= 0 or size % 4 or size > end - pos:
            raise OscPacketError(BAD_ELEMENT_SIZE, f"element size {size} with {end - pos} bytes left")
        element_end = pos + size
        first = data[pos : pos + 1]
        if first == b"/":
            if len(out) >= limits.max_messages:
                raise OscPacketError(TOO_MANY_MESSAGES, f"more than {limits.max_messages} messages")
            out.append(_message(data, pos, element_end))
        elif data.startswith(BUNDLE_PREFIX, pos, element_end):
            _bundle(data, pos, element_end, depth + 1, limits, out)
        else:
            raise OscPacketError(MALFORMED, "bundle element is neither a message nor a bundle")
        pos = element_end


def _message(data: bytes, start: int, end: int) -> OscMessage:
    address, pos = _string(data, start, end)
    if not address.startswith("/"):
        raise OscPacketError(MALFORMED, "address does not start with /")
    if pos == end:
        return OscMessage(address, ())  # no type tag string: no arguments (OSC 1.0 allows it)
    tags, pos = _string(data, pos, end)
    if not tags.startswith(","):
        raise OscPacketError(MALFORMED, "type tag string does not start with ,")
    args: list[OscArg] = []
    for tag in tags[1:]:
        if tag in "if":
            if end - pos < 4:
                raise OscPacketError(MALFORMED, f"argument {tag} truncated")
            args.append((_INT32 if tag == "i" else _FLOAT32).unpack_from(data, pos)[0])
            pos += 4
        elif tag in "dht":
            if end - pos < 8:
                raise OscPacketError(MALFORMED, f"argument {tag} truncated")
            args.append((_FLOAT64 if tag == "d" else _INT64 if tag == "h" else _UINT64).unpack_from(data, pos)[0])
            pos += 8
        elif tag == "s":
            text, pos = _string(data, pos, end)
            args.append(text)
        elif tag == "b":
            if end - pos < 4:
                raise OscPacketError(MALFORMED, "blob size truncated")
            (size,) = _INT32.unpack_from(data, pos)
            pos += 4
            padded = (size + 3) & ~3
            if size < 0 or padded > end - pos:
                raise OscPacketError(MALFORMED, f"blob size {size} with {end - pos} bytes left")
            args.append(data[pos : pos + size])
            pos += padded
        elif tag in "TFN":
            args.append(True if tag == "T" else False if tag == "F" else None)
        else:
            raise OscPacketError(UNSUPPORTED_TYPE, f"type tag {tag!r}")
    if pos != end:
        raise OscPacketError(MALFORMED, f"{end - pos} bytes after the arguments")
    return OscMessage(address, tuple(args))


def _string(data: bytes, start: int, end: int) -> tuple[str, int]:
    """An OSC-string at ``start`` and where what follows it starts."""
    nul = data.find(b"\x00", start, end)
    if nul < 0:
        raise OscPacketError(MALFORMED, "string without a NUL")
    after = nul + 4 - (nul - start) % 4  # the NUL and its padding, to a multiple of 4
    if after > end or data.count(b"\x00", nul, after) != after - nul:
        raise OscPacketError(MALFORMED, "string not NUL-padded to 4 bytes")
    try:
        return data[start:nul].decode("utf-8"), after
    except UnicodeDecodeError:
        raise OscPacketError(MALFORMED, "string is not UTF-8") from None
