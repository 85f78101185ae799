"""Recorded audio of any common format -> 16 kHz mono blocks, from a path or a stream."""

import io
import threading
from pathlib import Path

import av
import numpy as np
import pytest

from server.inference.audio_file import AudioFileError, AudioLimits, ByteStream, DecodeStats, decode_blocks
from tests.support.recorded_audio import FORMATS, calm_and_excited, encode


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    return calm_and_excited()[0]


def fed(data: bytes, chunk: int = 4096) -> ByteStream:
    """A non-seekable stream fed by another thread, as an upload is."""
    stream = ByteStream(max_chunks=4)

    def feed() -> None:
        for i in range(0, len(data), chunk):
            if not stream.write_chunk(data[i : i + chunk]):
                return
        stream.finish()

    threading.Thread(target=feed, daemon=True).start()
    return stream


@pytest.mark.parametrize("container", sorted(FORMATS))
@pytest.mark.parametrize("channels", [1, 2])
def test_every_format_decodes_to_the_same_speech(
    speech: np.ndarray, container: str, channels: int, tmp_path: Path
) -> None:
    data = encode(speech, container, rate=44100, channels=channels)
    path = tmp_path / f"speech.{container}"
    path.write_bytes(data)
    limits = AudioLimits(block_seconds=5.0)
    for source in (path, fed(data)):
        blocks = list(decode_blocks(source, limits))
        assert all(len(b) == 5 * 16000 for b in blocks[:-1]) and blocks[-1].dtype == np.float32
        decoded = np.concatenate(blocks)
        # Codecs add a little padding (MP3 a frame, Opus its pre-skip) but never lose speech.
        assert len(speech) <= len(decoded) <= len(speech) + 0.06 * 16000

        def rms(a: np.ndarray) -> float:
            return float(np.sqrt(np.mean(a**2)))

        assert rms(decoded) == pytest.approx(rms(speech), rel=0.1)  # stereo averaged, not summed
        if container in ("wav", "flac"):  # lossless: the samples themselves, after two resamplings
            corr = np.corrcoef(decoded[: len(speech)], speech)[0, 1]
            assert corr > 0.99


def test_what_is_not_audio_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(AudioFileError, match="not a readable audio file"):
        list(decode_blocks(fed(b"this is not audio at all" * 100)))
    with pytest.raises(AudioFileError, match="not a readable audio file"):
        list(decode_blocks(tmp_path / "missing.wav"))
    video = io.BytesIO()
    with av.open(video, "w", format="matroska") as out:  # a video with no sound track
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height = 64, 48
        for _ in range(5):
            frame = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    with pytest.raises(AudioFileError, match="no audio stream"):
        list(decode_blocks(io.BytesIO(video.getvalue())))


def test_damage_costs_only_the_damaged_audio(speech: np.ndarray) -> None:
    """A recording cut short decodes up to the cut; scrambled bytes in the middle of an MP3
    cost a packet or two, counted, never the file."""
    data = encode(speech, "flac")
    cut = sum(map(len, decode_blocks(io.BytesIO(data[: len(data) // 2]))))
    assert 0.4 * len(speech) < cut < 0.6 * len(speech)
    mp3 = bytearray(encode(speech, "mp3"))
    middle = len(mp3) // 2
    mp3[middle : middle + 3000] = np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8).tobytes()
    stats = DecodeStats()
    decoded = sum(map(len, decode_blocks(fed(bytes(mp3)), stats=stats)))
    assert decoded > 0.9 * len(speech) and stats.damaged_packets >= 1


def test_a_recording_over_the_limit_is_refused_once_the_limit_is_passed(speech: np.ndarray) -> None:
    seen = []
    with pytest.raises(AudioFileError, match="longer than the limit of 10 s"):
        for block in decode_blocks(fed(encode(speech, "mp3")), AudioLimits(max_seconds=10.0, block_seconds=2.0)):
            seen.append(len(block))
    assert sum(seen) <= 10 * 16000  # nothing past the limit was handed on


def test_closing_the_stream_frees_a_blocked_writer_and_fails_the_reader() -> None:
    stream = ByteStream(max_chunks=1)
    assert stream.write_chunk(b"a")
    results = []
    writer = threading.Thread(target=lambda: results.append(stream.write_chunk(b"b")))
    writer.start()
    writer.join(0.3)
    assert writer.is_alive()  # the queue is full: backpressure
    stream.close()
    writer.join(2.0)
    assert results == [False]
    with pytest.raises(ValueError):
        stream.read(10)
