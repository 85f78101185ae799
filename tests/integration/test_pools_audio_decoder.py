"""Uploads decoded in a child process that may die: the same blocks as in-process, a crash is a
DecoderFailed, a closed source or a dead server ends the child, a huge ID3 tag costs nothing."""

import io
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from server.inference.audio_file import AudioFileError, AudioLimits, ByteStream, DecodeStats, decode_blocks
from server.pools.audio_decoder import ChildDecoder, DecoderFailed
from tests.support.media import copied_to_channels, id3v2_header, wav_bytes
from tests.support.processes import living_descendants
from tests.support.recorded_audio import calm_and_excited, encode

DECODER = ChildDecoder(1024 * 1024 * 1024)
LIMITS = AudioLimits(min_bytes_per_s=256)


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    return calm_and_excited()[0]


def decoder_children() -> list[int]:
    return [c.pid for c in living_descendants() if "-m server.pools.audio_decoder" in c.command]


def wait_until(condition: Callable[[], bool], timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_the_child_gives_the_blocks_decoding_here_gives(speech: np.ndarray, tmp_path: Path) -> None:
    mp3 = encode(speech, "mp3", rate=44100, channels=2)
    here = np.concatenate(list(decode_blocks(io.BytesIO(mp3), LIMITS)))
    stats = DecodeStats()
    there = np.concatenate(list(DECODER(io.BytesIO(mp3), LIMITS, stats)))
    assert len(there) == len(here) and np.allclose(there, here, atol=1e-6)
    assert stats.decoder_peak_rss_bytes > 0
    (tmp_path / "a.mp3").write_bytes(mp3)
    assert sum(map(len, DECODER(tmp_path / "a.mp3", LIMITS))) == len(here)
    with pytest.raises(AudioFileError, match="not a readable audio file"):
        list(DECODER(io.BytesIO(b"not audio" * 1000), LIMITS))
    assert not decoder_children()


def test_a_decoder_that_dies_is_a_decoder_failed_not_a_dead_server(speech: np.ndarray) -> None:
    """The crash of issue 24 (a 7.1 WAV) is fixed; any other crash of FFmpeg looks like this:
    the child killed by SIGSEGV mid-file. The caller gets DecoderFailed (an AudioFileError)."""
    stream = ByteStream(max_chunks=2)
    data = encode(speech, "wav")

    def slowly() -> None:
        for i in range(0, len(data), 16384):
            if not stream.write_chunk(data[i : i + 16384]):
                return
            time.sleep(0.02)
        stream.finish()

    threading.Thread(target=slowly, daemon=True).start()
    blocks = DECODER(stream, AudioLimits(block_seconds=0.5))
    next(blocks)
    (pid,) = decoder_children()
    os.kill(pid, signal.SIGSEGV)
    with pytest.raises(DecoderFailed, match="the decoder failed"):
        list(blocks)
    stream.close()
    assert wait_until(lambda: not decoder_children())


def test_closing_the_source_ends_the_child_at_once() -> None:
    """A refused or abandoned upload (its ByteStream closed) kills the decoder even while it
    waits for bytes; the caller's iteration ends with StreamClosed."""
    stream = ByteStream()
    stream.write_chunk(wav_bytes(np.zeros(16000), 16000)[:44])  # a header, then nothing
    blocks = DECODER(stream, LIMITS)
    errors: list[BaseException] = []

    def consume() -> None:
        try:
            list(blocks)
        except ValueError as e:
            errors.append(e)

    consumer = threading.Thread(target=consume)
    consumer.start()
    assert wait_until(lambda: bool(decoder_children()))
    stream.close()
    consumer.join(5)
    assert not consumer.is_alive() and errors and "closed" in str(errors[0])
    assert wait_until(lambda: not decoder_children())


def test_a_decoder_does_not_outlive_its_server(tmp_path: Path) -> None:
    """kill -9 of the server: its decoder, waiting for bytes that will never come, exits by itself."""
    script = (
        "import sys, time\n"
        "from server.pools.audio_decoder import ChildDecoder\n"
        "from server.inference.audio_file import AudioLimits\n"
        "class Never:\n"
        "    def read(self, n=-1):\n"
        "        time.sleep(3600)\n"
        "print('started', flush=True)\n"
        "list(ChildDecoder(1 << 30)(Never(), AudioLimits()))\n"
    )
    server = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, cwd=Path.cwd())
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == b"started"
        assert wait_until(lambda: bool(decoder_children()), 10)
        (child,) = decoder_children()
    finally:
        server.kill()
        server.wait()
    assert wait_until(lambda: child not in [c.pid for c in living_descendants()], 5)
    try:
        os.waitpid(child, os.WNOHANG)  # re-parented to this test process (a subreaper): reap it
    except ChildProcessError:
        pass


def test_a_200_mb_id3_tag_costs_the_decoder_no_memory(speech: np.ndarray) -> None:
    """Issue 24: a 200 MB ID3 tag made FFmpeg hold +598 MB. The tag streams through the child
    a piece at a time; its peak memory is that of a plain MP3, give or take 30 MB."""
    mp3 = encode(speech[: 5 * 16000], "mp3")
    tag = 200 * 1024 * 1024

    class Tagged:
        """The tag's header, 200 MB of zeros made as they are read, then the MP3."""

        def __init__(self) -> None:
            self._left = tag
            self._rest = io.BytesIO(mp3)
            self._head = id3v2_header(tag)

        def read(self, n: int = -1) -> bytes:
            if self._head:
                out, self._head = self._head, b""
                return out
            if self._left:
                k = min(n if n > 0 else 65536, self._left, 1 << 20)
                self._left -= k
                return bytes(k)
            return self._rest.read(n)

    plain, tagged = DecodeStats(), DecodeStats()
    expected = sum(map(len, DECODER(io.BytesIO(mp3), LIMITS, plain)))
    assert sum(map(len, DECODER(Tagged(), LIMITS, tagged))) == expected
    assert tagged.skipped_tag_bytes == tag + 10 + plain.skipped_tag_bytes  # PyAV tags its MP3s too
    growth_mb = (tagged.decoder_peak_rss_bytes - plain.decoder_peak_rss_bytes) / 2**20
    print(f"decoder peak RSS: plain {plain.decoder_peak_rss_bytes / 2**20:.0f} MB, tagged {growth_mb:+.1f} MB")
    assert growth_mb < 30


@pytest.mark.parametrize("channels", [1, 2, 3, 5, 7, 8, 12, 16, 24, 32, 48, 63, 64])
def test_every_channel_count_decodes_in_the_child(speech: np.ndarray, channels: int) -> None:
    line = speech[: 2 * 16000]
    data = wav_bytes(copied_to_channels(line, channels), 22050, channels=channels)
    decoded = np.concatenate(list(DECODER(io.BytesIO(data), LIMITS)))
    assert abs(len(decoded) - len(line) * 16000 / 22050) < 50  # the 16 kHz samples, declared 22.05 kHz


@pytest.mark.parametrize("seed", range(12))
def test_mutated_recordings_never_take_the_caller_down(speech: np.ndarray, seed: int) -> None:
    """A corpus of hostile containers: real speech in MP3, OGG/Opus, FLAC and multichannel WAV,
    glued together (rate, layout and sample format change mid-stream) and then bitten (random
    bytes overwritten). Each is audio or an AudioFileError (DecoderFailed included), at once."""
    rng = np.random.default_rng(seed)
    line = speech[: 2 * 16000]
    pieces = [
        encode(line, "mp3", rate=int(rng.choice([22050, 44100, 48000])), channels=int(rng.integers(1, 3))),
        encode(line, "ogg", channels=int(rng.integers(1, 3))),
        encode(line, "flac", rate=int(rng.choice([16000, 44100])), channels=int(rng.integers(1, 9))),
    ]
    data = bytearray(b"".join(pieces[i] for i in rng.permutation(len(pieces))))
    for _ in range(int(rng.integers(0, 6))):
        at = int(rng.integers(0, len(data)))
        data[at : at + 32] = rng.integers(0, 256, 32, dtype=np.uint8).tobytes()
    started = time.monotonic()
    try:
        decoded = sum(map(len, DECODER(io.BytesIO(bytes(data)), LIMITS)))
        assert decoded <= 10 * len(line)
    except AudioFileError:
        pass
    assert time.monotonic() - started < 20
