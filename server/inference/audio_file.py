"""Recorded audio files (WAV, FLAC, OGG, MP3, ...) -> float32 mono at 16 kHz, block by block.

Decoded with PyAV (FFmpeg) and resampled by FFmpeg's resampler, so a file of any length is
read in bounded memory: at most one block of decoded audio exists at a time. The source may
be a path or any readable binary file object, seekable or not (an upload being received),
so nothing has to be written to disk first. The only module that opens recorded audio.
"""

from __future__ import annotations

import io
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import av
import numpy as np
from av.audio.stream import AudioStream
from av.container import InputContainer

from .audio import MODEL_RATE_HZ

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer


class ReadableBinary(Protocol):
    """Any readable binary file object, seekable or not (what PyAV reads from)."""

    def read(self, size: int = -1, /) -> bytes | None: ...


AudioSource = Path | ReadableBinary


class AudioFileError(ValueError):
    """The bytes are not audio we can decode (or there are too many of them)."""


@dataclass(frozen=True)
class AudioLimits:
    max_seconds: float = 4 * 3600.0
    block_seconds: float = 10.0


@dataclass
class DecodeStats:
    """What decoding skipped: packets that would not decode, and whether the file ended in
    the middle of its data (a recording cut short). Both leave the rest of the audio usable."""

    damaged_packets: int = 0
    truncated: bool = False


def decode_blocks(
    source: AudioSource, limits: AudioLimits = AudioLimits(), stats: DecodeStats | None = None
) -> Iterator[np.ndarray]:
    """float32 mono 16 kHz blocks of about ``limits.block_seconds`` each, in order.

    A damaged packet is skipped and a cut-off end ends the audio (counted in ``stats``).
    Raises AudioFileError when the source has no audio stream, nothing of it decodes, or it
    is longer than ``limits.max_seconds`` (raised once that much has been decoded)."""
    block = int(limits.block_seconds * MODEL_RATE_HZ)
    budget = int(limits.max_seconds * MODEL_RATE_HZ)
    pending: list[np.ndarray] = []
    held = decoded = 0
    for samples in _resampled(source, stats if stats is not None else DecodeStats()):
        decoded += len(samples)
        if decoded > budget:
            raise AudioFileError(f"the audio is longer than the limit of {limits.max_seconds:.0f} s")
        pending.append(samples)
        held += len(samples)
        if held >= block:
            joined = np.concatenate(pending)
            yield joined[:block]
            pending, held = [joined[block:]], len(joined) - block
    if held:
        yield np.concatenate(pending)


def _resampled(source: AudioSource, stats: DecodeStats) -> Iterator[np.ndarray]:
    try:
        container = av.open(str(source) if isinstance(source, Path) else source, mode="r")
    except (av.FFmpegError, OSError) as e:
        raise AudioFileError(f"not a readable audio file: {_reason(e)}") from None
    with container:
        if not container.streams.audio:
            raise AudioFileError("the file has no audio stream")
        stream = container.streams.audio[0]
        # Channels are averaged here, not by FFmpeg's downmix (which adds +3 dB to centred
        # stereo): loudness is one of prosody's cues, so stereo and mono must read the same.
        resampler = av.AudioResampler(format="fltp", rate=MODEL_RATE_HZ)
        good = 0
        for frame in _frames(container, stream, stats):
            good += 1
            for out in resampler.resample(frame):
                yield out.to_ndarray().mean(axis=0, dtype=np.float32)
        if not good:
            raise AudioFileError("no audio in the file could be decoded")
        for out in resampler.resample(None):
            yield out.to_ndarray().mean(axis=0, dtype=np.float32)


def _frames(container: InputContainer, stream: AudioStream, stats: DecodeStats) -> Iterator[av.AudioFrame]:
    packets = container.demux(stream)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except av.FFmpegError:  # the container ends mid-data
            stats.truncated = True
            return
        try:
            yield from packet.decode()
        except av.FFmpegError:
            stats.damaged_packets += 1


def _reason(e: BaseException) -> str:
    return getattr(e, "strerror", None) or str(e)


class ByteStream(io.RawIOBase):
    """A non-seekable file object fed from another thread (an upload arriving), with a
    bounded queue so that the writer waits while the reader is behind (backpressure).

    ``write`` and ``finish`` on the feeding side; ``read`` on the decoding side. ``close``
    from either side ends both: a blocked writer or reader returns at once."""

    def __init__(self, max_chunks: int = 16):
        super().__init__()
        self._chunks: queue.Queue[bytes | None] = queue.Queue(max_chunks)
        self._buffer = b""
        self._ended = False
        self._closed = threading.Event()

    def readable(self) -> bool:
        return True

    def readinto(self, b: WriteableBuffer) -> int:
        out = memoryview(b)
        while not self._buffer and not self._ended:
            if self._closed.is_set():
                raise ValueError("the stream was closed")
            try:
                chunk = self._chunks.get(timeout=0.1)
            except queue.Empty:
                continue
            if chunk is None:
                self._ended = True
            else:
                self._buffer = chunk
        n = min(len(out), len(self._buffer))
        out[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n

    def write_chunk(self, chunk: bytes) -> bool:
        """Blocks while the queue is full; False once the stream was closed (stop feeding)."""
        return self._put(bytes(chunk)) if chunk else not self._closed.is_set()

    def write_chunk_nowait(self, chunk: bytes) -> bool:
        """Raises queue.Full instead of waiting; False once the stream was closed."""
        if self._closed.is_set():
            return False
        if chunk:
            self._chunks.put_nowait(bytes(chunk))
        return True

    def finish(self) -> None:
        self._put(None)

    def _put(self, item: bytes | None) -> bool:
        while not self._closed.is_set():
            try:
                self._chunks.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def close(self) -> None:
        self._closed.set()
        super().close()
