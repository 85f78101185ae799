"""Recorded audio files (WAV, FLAC, OGG, MP3, ...) -> float32 mono at 16 kHz, block by block.

Decoded with PyAV (FFmpeg) and resampled by FFmpeg's resampler, so a file of any length is
read in bounded memory: at most one block of decoded audio exists at a time. The source may
be a path or any readable binary file object, seekable or not (an upload being received),
so nothing has to be written to disk first. The only module that opens recorded audio.

Hostile files (issue 24): every frame goes through a resampler to packed float32 before its
samples are read (``to_ndarray`` on a frame of 8 or more planes crashes the process, so it is
never called on a decoder's own frame), the resampler is rebuilt when a frame's format,
layout or rate changes mid-stream, every PyAV error is an AudioFileError, leading ID3v2 tags
of a stream are skipped by their size header (FFmpeg would hold a tag whole), and a file may
decode to at most ``1 / min_bytes_per_s`` seconds per byte. The server still decodes uploads in
a child process (server/pools/audio_decoder.py): FFmpeg's own bugs must not take it down.
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
from av.audio.resampler import AudioResampler
from av.audio.stream import AudioStream
from av.container import InputContainer

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

# inference/audio.MODEL_RATE_HZ (a unit test holds them equal): not imported, so that the
# decoder process starts without scipy.
RATE_HZ = 16000
# What PyAV may raise on a hostile file besides FFmpegError ("Frame does not match
# AudioResampler setup" is a ValueError, undecodable metadata a UnicodeDecodeError).
_PYAV_ERRORS = (av.FFmpegError, ValueError, OSError, RuntimeError, TypeError, IndexError, OverflowError, MemoryError)


class ReadableBinary(Protocol):
    """Any readable binary file object, seekable or not (what PyAV reads from)."""

    def read(self, size: int = -1, /) -> bytes | None: ...


AudioSource = Path | ReadableBinary


class AudioFileError(ValueError):
    """The bytes are not audio we can decode (or there are too many of them)."""


class StreamClosed(ValueError):
    """A ByteStream was closed (the upload was refused or its client left)."""


@dataclass(frozen=True)
class AudioLimits:
    max_seconds: float = 4 * 3600.0
    block_seconds: float = 10.0
    max_channels: int = 64
    min_rate_hz: int = 1000  # lower is not audio: a frame of a 1 Hz file is hours once resampled
    # At least this many bytes of the file per second of audio it decodes to, past the first
    # ``expansion_slack_s`` (0: no limit). Real codecs need >= 600 B/s (Opus at 6 kb/s); a WAV
    # header claiming 1 Hz turns 14 KB into two hours.
    min_bytes_per_s: float = 0.0
    expansion_slack_s: float = 30.0


@dataclass
class DecodeStats:
    """What decoding skipped: packets that would not decode, and whether the file ended in
    the middle of its data (a recording cut short). Both leave the rest of the audio usable.
    ``skipped_tag_bytes``: leading ID3v2 tags dropped unread (never given to FFmpeg);
    ``decoder_peak_rss_bytes``: the decoder process's peak memory (server/pools/audio_decoder.py)."""

    damaged_packets: int = 0
    truncated: bool = False
    skipped_tag_bytes: int = 0
    decoder_peak_rss_bytes: int = 0


def decode_blocks(
    source: AudioSource, limits: AudioLimits = AudioLimits(), stats: DecodeStats | None = None
) -> Iterator[np.ndarray]:
    """float32 mono 16 kHz blocks of about ``limits.block_seconds`` each, in order.

    A damaged packet is skipped and a cut-off end ends the audio (counted in ``stats``).
    Raises AudioFileError when the source has no audio stream, nothing of it decodes, a frame
    has more channels than ``limits.max_channels`` or a rate under ``limits.min_rate_hz``, it
    is longer than ``limits.max_seconds`` (raised once that much has been decoded), or it
    decodes to more seconds than its bytes allow (``limits.min_bytes_per_s``)."""
    stats = stats if stats is not None else DecodeStats()
    block = int(limits.block_seconds * RATE_HZ)
    budget = int(limits.max_seconds * RATE_HZ)
    opened: Path | _TagSkipper = source if isinstance(source, Path) else _TagSkipper(source, stats)
    pending: list[np.ndarray] = []
    held = decoded = 0
    for samples in _resampled(opened, limits, stats, _Budget(opened, limits)):
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


class _Budget:
    """Checks each frame's duration before it is resampled: a frame of a 1 Hz file is hours
    of output, so the limits must hold on the input side, not only on what comes out."""

    def __init__(self, source: Path | _TagSkipper, limits: AudioLimits):
        self._source = source
        self._limits = limits
        self._size = _file_size(source) if isinstance(source, Path) else 0
        self.seconds = 0.0

    def admit(self, frame: av.AudioFrame) -> None:
        limits = self._limits
        if frame.sample_rate < limits.min_rate_hz:
            raise AudioFileError(f"a sample rate of {frame.sample_rate} Hz is not audio this server decodes")
        self.seconds += frame.samples / frame.sample_rate
        if self.seconds > limits.max_seconds + limits.block_seconds:
            raise AudioFileError(f"the audio is longer than the limit of {limits.max_seconds:.0f} s")
        if limits.min_bytes_per_s > 0:
            size = self._size if isinstance(self._source, Path) else self._source.delivered
            if self.seconds > limits.expansion_slack_s + size / limits.min_bytes_per_s:
                raise AudioFileError(
                    f"the file decodes to more audio than its size allows: {self.seconds:.0f} s from {size} bytes "
                    f"(at most 1 s per {limits.min_bytes_per_s:g} bytes)"
                )


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # av.open says why


def _resampled(
    source: Path | _TagSkipper, limits: AudioLimits, stats: DecodeStats, budget: _Budget
) -> Iterator[np.ndarray]:
    try:
        container = av.open(str(source) if isinstance(source, Path) else source, mode="r", metadata_errors="ignore")
    except (AudioFileError, StreamClosed):
        raise
    except _PYAV_ERRORS as e:
        raise AudioFileError(f"not a readable audio file: {_reason(e)}") from None
    with container:
        if not container.streams.audio:
            raise AudioFileError("the file has no audio stream")
        stream = container.streams.audio[0]
        converter = _MonoConverter(limits.max_channels)
        good = 0
        try:
            for frame in _frames(container, stream, stats):
                good += 1
                budget.admit(frame)
                yield from converter.convert(frame)
            if not good:
                raise AudioFileError("no audio in the file could be decoded")
            yield from converter.flush()
        except (AudioFileError, StreamClosed):
            raise
        except _PYAV_ERRORS as e:
            raise AudioFileError(f"the audio could not be decoded: {type(e).__name__}: {_reason(e)}") from None


class _MonoConverter:
    """Decoded frames of any format, layout and rate -> float32 mono at RATE_HZ.

    Each frame goes through FFmpeg's resampler to *packed* float32 at 16 kHz, keeping its
    channels: one plane, whatever the channel count, so ``to_ndarray`` is safe (on a planar
    frame of 8 or more channels it crashes the process). Channels are then averaged here,
    for any count, rather than by FFmpeg's downmix (which adds +3 dB to centred stereo):
    loudness is one of prosody's cues, so mono, stereo and 7.1 must read the same. A frame
    whose format, layout or rate differs from the one before (a stream that changes mid-way)
    gets a new resampler, after the old one's tail."""

    def __init__(self, max_channels: int):
        self._max_channels = max_channels
        self._resampler: AudioResampler | None = None
        self._setup: tuple[str, str, int, int] | None = None

    def convert(self, frame: av.AudioFrame) -> Iterator[np.ndarray]:
        channels = frame.layout.nb_channels
        if not 1 <= channels <= self._max_channels:
            raise AudioFileError(f"the audio has {channels} channels; at most {self._max_channels}")
        setup = (frame.format.name, frame.layout.name, channels, frame.sample_rate)
        if setup != self._setup:
            yield from self.flush()
            self._resampler, self._setup = AudioResampler(format="flt", rate=RATE_HZ), setup
        assert self._resampler is not None
        for out in self._resampler.resample(frame):
            yield _averaged(out)

    def flush(self) -> Iterator[np.ndarray]:
        if self._resampler is not None:
            for out in self._resampler.resample(None):
                yield _averaged(out)
        self._resampler = self._setup = None


def _averaged(frame: av.AudioFrame) -> np.ndarray:
    """A packed float32 frame (the resampler's) -> its channels' mean."""
    channels = frame.layout.nb_channels
    if frame.format.name != "flt" or channels < 1:
        raise AudioFileError(f"the resampler gave {frame.format.name} with {channels} channels")
    interleaved = frame.to_ndarray().reshape(-1)
    if len(interleaved) % channels:
        raise AudioFileError("the resampler gave a partial frame")
    mean: np.ndarray = interleaved.reshape(-1, channels).mean(axis=1, dtype=np.float32)
    return mean


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


ID3_HEADER = 10


class _TagSkipper(io.RawIOBase):
    """``source`` as FFmpeg should read it: without the ID3v2 tags at its start. FFmpeg reads
    a tag whole into memory (a 200 MB tag cost 598 MB); here each is dropped unread, by the
    size in its header, a piece at a time. ``delivered``: the bytes handed on since."""

    PIECE = 64 * 1024

    def __init__(self, source: ReadableBinary, stats: DecodeStats):
        super().__init__()
        self._source = source
        self._stats = stats
        self._head = b""
        self._started = False
        self.delivered = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: WriteableBuffer) -> int:
        out = memoryview(b).cast("B")
        if not self._started:
            self._started = True
            self._skip_tags()
        if self._head:
            data, self._head = self._head[: len(out)], self._head[len(out) :]
        else:
            data = self._source.read(len(out)) or b""
        out[: len(data)] = data
        self.delivered += len(data)
        return len(data)

    def _skip_tags(self) -> None:
        while True:
            head = self._read_up_to(ID3_HEADER)
            size = id3v2_tag_size(head)
            if size is None:
                self._head = head
                return
            left = size - ID3_HEADER
            while left > 0:
                piece = self._read_up_to(min(left, self.PIECE))
                if not piece:
                    return  # the file ends inside its tag: nothing is left to decode
                left -= len(piece)
            self._stats.skipped_tag_bytes += size

    def _read_up_to(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            more = self._source.read(n - len(data))
            if not more:
                break
            data += more
        return data


def id3v2_tag_size(head: bytes) -> int | None:
    """The whole size of the ID3v2 tag whose 10-byte header ``head`` is (header and footer
    included), or None when ``head`` is not one."""
    if len(head) < ID3_HEADER or head[:3] != b"ID3" or 0xFF in head[3:5] or any(x >= 0x80 for x in head[6:10]):
        return None
    body = (head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9]  # "syncsafe": 7 bits a byte
    return ID3_HEADER + body + (ID3_HEADER if head[5] & 0x10 else 0)


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
                raise StreamClosed("the stream was closed")
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
