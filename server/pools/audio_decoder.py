"""Uploaded recordings are decoded in a child process that may die.

FFmpeg decodes whatever a client sends; a crafted file that crashes it (a 7.1 WAV once did,
issue 24) must cost that request, not the server. ``ChildDecoder`` is a drop-in for
``audio_file.decode_blocks``: the same blocks, the same AudioFileErrors, but the decoding runs
in ``python -m server.pools.audio_decoder``, started per recording. The upload's bytes go to
its stdin as they arrive (a thread of the parent copies them from the source); blocks of
float32 16 kHz samples come back on its stdout, framed. Both pipes are bounded, so a slow
analysis still slows the upload (backpressure) as it did in-process.

The child's address space is capped (RLIMIT_AS, ``memory_bytes``), it exits within
tool_pool.PARENT_CHECK_S when the server dies, and the parent kills it the moment its source
is closed (an upload refused or abandoned, a deadline), or its blocks are no longer wanted.
A child that dies or talks nonsense is ``DecoderFailed`` ("the decoder failed"), an
AudioFileError: the client gets a 422, the server goes on.
"""

from __future__ import annotations

import json
import os
import resource
import select
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..inference.audio_file import (
    RATE_HZ,
    AudioFileError,
    AudioLimits,
    AudioSource,
    DecodeStats,
    ReadableBinary,
    StreamClosed,
    decode_blocks,
)

# A message on the child's stdout: kind (1 byte), payload length (4 bytes, little-endian), payload.
HEADER = struct.Struct("<cI")
BLOCK, END, ERROR = b"B", b"E", b"X"
CHUNK = 64 * 1024  # bytes of the upload per write to the child
POLL_S = 0.1  # how often a waiting parent looks whether its source was closed
# The child may not run BLAS threads or malloc arenas it does not need: they count against RLIMIT_AS.
CHILD_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MALLOC_ARENA_MAX": "2"}


class DecoderFailed(AudioFileError):
    """The decoder process died (a crash, its memory cap) or broke its protocol."""


class ChildDecoder:
    """``decode_blocks`` in a child process: call it as that function is called."""

    def __init__(self, memory_bytes: int):
        self.memory_bytes = memory_bytes

    def __call__(
        self, source: AudioSource, limits: AudioLimits, stats: DecodeStats | None = None
    ) -> Iterator[np.ndarray]:
        stats = stats if stats is not None else DecodeStats()
        if not isinstance(source, Path):
            return self._blocks(source, limits, stats)
        try:
            file = source.open("rb")
        except OSError as e:
            raise AudioFileError(f"not a readable audio file: {e.strerror}") from None
        return self._closing(file, self._blocks(file, limits, stats))

    @staticmethod
    def _closing(file: BinaryIO, blocks: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
        with file:
            yield from blocks

    def _blocks(self, source: ReadableBinary, limits: AudioLimits, stats: DecodeStats) -> Iterator[np.ndarray]:
        child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                __name__,
                json.dumps(asdict(limits)),
                str(os.getpid()),
                str(self.memory_bytes),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, **CHILD_ENV},
        )
        feeder = _Feeder(source, child)
        threading.Thread(target=feeder.run, name="audio-decoder-feed", daemon=True).start()
        try:
            yield from _Replies(child, feeder, limits).blocks(stats)
        finally:
            child.kill()  # a no-op once it has exited
            child.wait()
            assert child.stdout is not None
            child.stdout.close()


class _Feeder:
    """Copies the source into the child's stdin until the source ends; kills the child when the
    source is closed (the upload was refused or its client left)."""

    def __init__(self, source: ReadableBinary, child: subprocess.Popen[bytes]):
        self._source = source
        self._child = child
        self.source_closed = False

    def run(self) -> None:
        stdin = self._child.stdin
        assert stdin is not None
        try:
            while chunk := self._source.read(CHUNK):
                stdin.write(chunk)
                stdin.flush()
        except (StreamClosed, ValueError):  # closed, or read after closing
            self.source_closed = True
            self._child.kill()
        except OSError:  # BrokenPipeError: the child ended (an error, a crash) before the source did
            pass
        finally:
            try:
                stdin.close()
            except OSError:
                pass

    @property
    def cancelled(self) -> bool:
        return self.source_closed or bool(getattr(self._source, "closed", False))


class _Replies:
    """The child's messages, read with a poll so that a closed source is noticed even while
    the child computes (or hangs)."""

    def __init__(self, child: subprocess.Popen[bytes], feeder: _Feeder, limits: AudioLimits):
        assert child.stdout is not None
        self._child = child
        self._fd = child.stdout.fileno()
        self._feeder = feeder
        self._max_payload = 4 * int(limits.block_seconds * RATE_HZ) + 64 * 1024

    def blocks(self, stats: DecodeStats) -> Iterator[np.ndarray]:
        while True:
            kind, payload = self._message()
            if kind == BLOCK and len(payload) % 4 == 0:
                yield np.frombuffer(payload, dtype="<f4").astype(np.float32)
            elif kind == END:
                reported = json.loads(payload)
                stats.damaged_packets = int(reported["damaged_packets"])
                stats.truncated = bool(reported["truncated"])
                stats.skipped_tag_bytes = int(reported["skipped_tag_bytes"])
                stats.decoder_peak_rss_bytes = int(reported["decoder_peak_rss_bytes"])
                return
            elif kind == ERROR:
                raise AudioFileError(str(json.loads(payload)["error"]))
            else:
                raise DecoderFailed("the decoder failed: it sent a malformed message")

    def _message(self) -> tuple[bytes, bytes]:
        kind, size = HEADER.unpack(self._read(HEADER.size))
        if size > self._max_payload:
            raise DecoderFailed("the decoder failed: it sent a malformed message")
        return kind, self._read(size)

    def _read(self, n: int) -> bytes:
        data = bytearray()
        while len(data) < n:
            if self._feeder.cancelled:
                self._child.kill()
                raise StreamClosed("the stream was closed")
            ready, _, _ = select.select([self._fd], [], [], POLL_S)
            if not ready:
                continue
            more = os.read(self._fd, n - len(data))
            if not more:
                if self._feeder.cancelled:
                    raise StreamClosed("the stream was closed")
                raise DecoderFailed(f"the decoder failed (exit status {self._child.wait()})")
            data += more
        return bytes(data)


def _child_main(argv: list[str]) -> int:
    """In the child: the upload on stdin -> messages on stdout."""
    from .tool_pool import exit_with_parent

    limits_json, parent_pid, memory_bytes = argv
    exit_with_parent(int(parent_pid))
    resource.setrlimit(resource.RLIMIT_AS, (int(memory_bytes), int(memory_bytes)))
    limits = AudioLimits(**json.loads(limits_json))
    out = sys.stdout.buffer
    stats = DecodeStats()

    def send(kind: bytes, payload: bytes) -> None:
        out.write(HEADER.pack(kind, len(payload)) + payload)
        out.flush()

    try:
        upload = open(sys.stdin.fileno(), "rb", buffering=0, closefd=False)  # unbuffered: what has arrived
        for block in decode_blocks(upload, limits, stats):
            send(BLOCK, block.astype("<f4").tobytes())
    except AudioFileError as e:
        send(ERROR, json.dumps({"error": str(e)}).encode())
        return 0
    except MemoryError:
        send(ERROR, json.dumps({"error": "decoding it needed more memory than the server allows"}).encode())
        return 0
    stats.decoder_peak_rss_bytes = _peak_rss_bytes()
    send(END, json.dumps(asdict(stats)).encode())
    return 0


def _peak_rss_bytes() -> int:
    """This process's peak resident memory: VmHWM, not getrusage's ru_maxrss, which Linux carries
    over from the parent across exec (a child of a 300 MB server would read 300 MB)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


if __name__ == "__main__":
    try:
        sys.exit(_child_main(sys.argv[1:]))
    except BrokenPipeError:  # the parent stopped listening (it killed us, or it is gone)
        os._exit(0)
