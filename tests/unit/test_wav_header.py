"""A WAV body judged while it arrives (POST /v1/animate): refused by its header, or by its length
when the header lies, before the rest is read."""

import numpy as np
import pytest

from server.tools.wav_header import TRAILING_ALLOWANCE, WavBodyWatch, WavRefused
from tests.support.media import wav_bytes, wav_header


def fed(watch: WavBodyWatch, data: bytes, piece: int) -> int:
    """Feeds ``data`` in pieces; how many bytes went in before the refusal (all: none)."""
    for i in range(0, len(data), piece):
        try:
            watch.feed(data[i : i + piece])
        except WavRefused:
            return i + piece
    return len(data)


@pytest.mark.parametrize("piece", [1, 7, 44, 4096])
def test_a_header_longer_than_the_limit_is_refused_as_soon_as_it_is_read(piece: int) -> None:
    """Issue 24: a 600 s WAV was read whole (19 MB) before it was found too long."""
    watch = WavBodyWatch(120.0)
    head = wav_header(16000, 1, 600 * 32000)
    with pytest.raises(WavRefused, match="600.0 s long; at most 120 s"):
        for i in range(0, len(head), piece):
            watch.feed(head[i : i + piece])


@pytest.mark.parametrize("piece", [1, 13, 4096])
def test_what_read_wav_takes_passes_whole(piece: int) -> None:
    line = wav_bytes(np.zeros(2 * 44100), 44100, channels=1)
    assert fed(WavBodyWatch(2.0), line, piece) == len(line)
    stereo = wav_bytes(np.zeros(2 * 2 * 16000), 16000, channels=2)
    listed = stereo[:12] + b"LIST" + (101).to_bytes(4, "little") + bytes(102) + stereo[12:]  # odd size: padded
    assert fed(WavBodyWatch(2.0), listed + b"junk" * 100, piece) == len(listed) + 400


def test_a_body_past_what_its_header_allows_is_refused_when_it_gets_there() -> None:
    """A header that lies (it says 1 s, then the data goes on)
    does not buy an unbounded read: past max_seconds of its format, the body is refused."""
    head = wav_header(16000, 1, 32000)
    body = head + bytes(10 * 32000)
    used = fed(WavBodyWatch(2.0), body, 1000)
    assert used <= len(head) + 2 * 32000 + TRAILING_ALLOWANCE + 1000


def test_what_is_not_a_wav_is_refused_at_its_first_bytes() -> None:
    with pytest.raises(WavRefused, match="not a readable WAV file"):
        WavBodyWatch(120.0).feed(b"ID3\x04\x00\x00\x00\x00\x00\x00 and an MP3")
    with pytest.raises(WavRefused, match="fmt chunk of 4 bytes"):
        WavBodyWatch(120.0).feed(b"RIFF\x00\x00\x00\x00WAVEfmt \x04\x00\x00\x00")
