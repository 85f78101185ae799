"""A WAV body judged while it arrives: refused by its header before the rest is read.

``POST /v1/animate`` used to read a whole body (up to 32 MiB) before `tools.animate.read_wav`
found the WAV too long. ``WavBodyWatch`` is fed the body piece by piece: once the RIFF header,
the ``fmt `` chunk and the ``data`` chunk's header have arrived, a recording whose header says
it is longer than ``max_seconds`` is refused at once (the same rule and words as read_wav),
and a body that goes on past what ``max_seconds`` of its format could be (a header that lies)
is refused as soon as it does. Nothing but the small fmt chunk is kept.
"""

from __future__ import annotations

import struct

RIFF_HEADER = 12  # "RIFF", size, "WAVE"
CHUNK_HEADER = 8  # id, size
MAX_FMT_BYTES = 1024  # a fmt chunk is 16, 18 or 40 bytes
# Chunks a WAV may carry after its data (LIST, id3 ...) before the body is taken to lie.
TRAILING_ALLOWANCE = 64 * 1024


class WavRefused(ValueError):
    """The body is not a WAV read_wav would take, or it is too long."""


class WavBodyWatch:
    def __init__(self, max_seconds: float):
        self.max_seconds = max_seconds
        self._buffer = bytearray()  # the unparsed bytes of the structure being read
        self._need = RIFF_HEADER  # bytes the current step waits for
        self._step = self._riff
        self._skip = 0  # bytes of a chunk to pass over unread
        self._fmt: tuple[int, int] | None = None  # (rate, bytes per frame)
        self._received = 0
        self._most: int | None = None  # the longest body max_seconds allows, once the data chunk is known

    def feed(self, chunk: bytes) -> None:
        """The next piece of the body; raises WavRefused as soon as the body is known to be refused."""
        view = memoryview(chunk)
        while view and self._most is None:
            n = min(self._skip, len(view)) if self._skip else min(self._need - len(self._buffer), len(view))
            if self._skip:
                self._skip -= n
            else:
                self._buffer += view[:n]
            view, self._received = view[n:], self._received + n
            if not self._skip and len(self._buffer) == self._need:
                data, self._buffer = bytes(self._buffer), bytearray()
                self._step(data)
        self._received += len(view)
        if self._most is not None and self._received > self._most:
            raise WavRefused(f"the WAV file goes on past what {self.max_seconds:g} s of it can be")

    def _riff(self, data: bytes) -> None:
        if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
            raise WavRefused("not a readable WAV file: it does not start with RIFF ... WAVE")
        self._need, self._step = CHUNK_HEADER, self._chunk

    def _chunk(self, data: bytes) -> None:
        name, size = data[:4], struct.unpack("<I", data[4:8])[0]
        if name == b"fmt ":
            if not 16 <= size <= MAX_FMT_BYTES:
                raise WavRefused(f"not a readable WAV file: a fmt chunk of {size} bytes")
            self._need, self._step = size + size % 2, self._format
        elif name == b"data":
            self._data(size)
        else:
            self._skip = size + size % 2  # chunks are padded to an even size

    def _format(self, data: bytes) -> None:
        channels, rate, _byte_rate, block_align = struct.unpack("<HIIH", data[2:14])
        self._fmt = (rate, block_align) if channels and rate and block_align else None
        self._need, self._step = CHUNK_HEADER, self._chunk

    def _data(self, size: int) -> None:
        if self._fmt is None:  # no usable fmt first: read_wav refuses it with its own words
            self._most = 1 << 62
            return
        rate, per_frame = self._fmt
        frames = size // per_frame
        if frames > self.max_seconds * rate:
            raise WavRefused(f"the WAV file is {frames / rate:.1f} s long; at most {self.max_seconds:g} s")
        self._most = self._received + int(self.max_seconds * rate) * per_frame + TRAILING_ALLOWANCE
