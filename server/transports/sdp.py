"""What an SDP offer may be before aiortc reads it.

aiortc parses whatever it is given and builds a transceiver, an ICE gatherer and its sockets
per media section: "hello world" was answered 200, and 500 m-lines held the event loop about
a second. An offer here is checked first, in one linear pass over a bounded text: it starts
with `v=0`, has at most `max_bytes` and `max_lines`, only the line types of RFC 8866, no
control characters, and between one and `max_media_sections` media sections (audio, video,
application), one of them the data channels' (the session's control channel needs it).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..protocol.codec import ProtocolError
from ..protocol.constants import ErrorCode

# RFC 8866 §5: every line is `<type>=<value>`, the type one of these letters.
LINE_TYPES = frozenset("vosiuepcbztkarm")
MEDIA_TYPES = frozenset({"audio", "video", "application"})


@dataclass(frozen=True)
class SdpLimits:
    max_bytes: int = 32 * 1024
    max_lines: int = 600
    max_media_sections: int = 4


def _refuse(why: str) -> ProtocolError:
    return ProtocolError(ErrorCode.BAD_MESSAGE, f"the offer's SDP was refused: {why}")


def check_offer(sdp: str, limits: SdpLimits) -> None:
    """Returns for an offer aiortc may read; raises ProtocolError (bad_message) saying why not."""
    if len(sdp) > limits.max_bytes or len(sdp.encode("utf-8", "surrogatepass")) > limits.max_bytes:
        raise _refuse(f"more than {limits.max_bytes} bytes")
    lines = sdp.splitlines()  # as aiortc splits it
    if len(lines) > limits.max_lines:
        raise _refuse(f"{len(lines)} lines, at most {limits.max_lines}")
    if not lines or lines[0] != "v=0":
        raise _refuse("a session description starts with the line v=0")
    media: list[str] = []
    for number, line in enumerate(lines, 1):
        if len(line) < 2 or line[1] != "=" or line[0] not in LINE_TYPES:
            raise _refuse(f"line {number} is not <type>=<value> with a known type: {line[:40]!r}")
        if any(ord(c) < 0x20 and c != "\t" or ord(c) == 0x7F for c in line):
            raise _refuse(f"line {number} holds a control character")
        if line[0] == "m":
            if len(media) == limits.max_media_sections:
                raise _refuse(f"more than {limits.max_media_sections} media sections (m= lines)")
            kind = line[2:].split(" ", 1)[0]
            if kind not in MEDIA_TYPES:
                raise _refuse(f"media section {kind[:20]!r} is none of {', '.join(sorted(MEDIA_TYPES))}")
            media.append(kind)
    if "application" not in media:
        raise _refuse("no data channel section (m=application): the session's messages travel on one")
