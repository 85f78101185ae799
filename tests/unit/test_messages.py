"""Parsing what clients send: defaults, validation with specific codes."""

from typing import Any

import pytest

from server.protocol.codec import ProtocolError
from server.protocol.constants import ErrorCode
from server.protocol.messages import AudioChunk, Hello, VideoFrame

CONSENT = {"consent": {"camera": True, "microphone": False}}


def test_hello_defaults() -> None:
    h = Hello.parse(CONSENT, 30.0, 60.0)
    assert (h.camera, h.microphone, h.rig, h.format, h.rate_hz, h.strategy, h.mirror) == (
        True,
        False,
        "arkit52",
        "named",
        30.0,
        "hybrid",
        False,
    )  # bench/default_strategy.py chose it


@pytest.mark.parametrize(
    "payload, message",
    [
        ({}, "needs 'consent'"),
        ({"consent": {"camera": "yes"}}, "true or false"),
        ({**CONSENT, "format": "xml"}, "format must be"),
        ({**CONSENT, "rate_hz": 500}, "rate_hz must be"),
        ({**CONSENT, "rate_hz": True}, "rate_hz must be"),
        ({**CONSENT, "strategy": "magic"}, "unknown strategy"),
        ({**CONSENT, "user_id": ""}, "user_id"),
        ({**CONSENT, "mirror": "no"}, "mirror"),
    ],
)
def test_bad_hello(payload: dict[str, Any], message: str) -> None:
    with pytest.raises(ProtocolError, match=message) as e:
        Hello.parse(payload, 30.0, 60.0)
    assert e.value.code == ErrorCode.BAD_HELLO


def test_video_frame_forms() -> None:
    assert VideoFrame.parse({"image": b"x", "capture_ms": 9}, "cbor", 0).image == b"x"
    raw = VideoFrame.parse({"rgb": b"abc", "width": 1, "height": 1}, "cbor", 77)
    assert raw.rgb == b"abc" and raw.capture_ms == 77
    with pytest.raises(ProtocolError, match="needs 'image'"):
        VideoFrame.parse({}, "cbor", 0)
    with pytest.raises(ProtocolError, match="width"):
        VideoFrame.parse({"rgb": b"abc"}, "cbor", 0)


def test_audio_chunk_validation() -> None:
    assert AudioChunk.parse({"pcm": b"\x00\x01", "sample_rate_hz": 48000}, "cbor", 0).sample_rate_hz == 48000
    with pytest.raises(ProtocolError, match="sample_rate_hz"):
        AudioChunk.parse({"pcm": b"\x00\x01", "sample_rate_hz": 8000}, "cbor", 0)
    with pytest.raises(ProtocolError, match="even number"):
        AudioChunk.parse({"pcm": b"\x00", "sample_rate_hz": 16000}, "cbor", 0)


@pytest.mark.parametrize(
    "payload, message",
    [
        ({**CONSENT, "rate_hz": 10**400}, "rate_hz must be a number from 1 to 60, got an integer of 1329 bits"),
        ({**CONSENT, "rate_hz": float("inf")}, "rate_hz must be"),
        ({**CONSENT, "strategy": ["direct"]}, "unknown strategy a list"),
        ({**CONSENT, "strategy": {"x": 1}}, "unknown strategy a dict"),
        ({**CONSENT, "compare": {"strategy": ["hybrid"]}}, "compare needs"),
        ({**CONSENT, "format": "x" * 10_000}, "format must be one of"),
    ],
)
def test_hostile_hello_fields_get_bad_hello_not_a_crash(payload: dict[str, Any], message: str) -> None:
    """Huge integers and lists in hello fields used to raise OverflowError/TypeError: socket dropped."""
    with pytest.raises(ProtocolError, match=message) as e:
        Hello.parse(payload, 30.0, 60.0)
    assert e.value.code == ErrorCode.BAD_HELLO and len(e.value.message) < 300


def test_hostile_media_fields_get_specific_errors() -> None:
    with pytest.raises(ProtocolError, match="capture_ms must be a number of milliseconds") as e:
        VideoFrame.parse({"image": b"x", "capture_ms": 10**400}, "cbor", 0)
    assert e.value.code == ErrorCode.BAD_MESSAGE
    with pytest.raises(ProtocolError, match="sample_rate_hz must be one of"):
        AudioChunk.parse({"pcm": b"\x00\x00", "sample_rate_hz": 10**400}, "cbor", 0)
    with pytest.raises(ProtocolError, match="sample_rate_hz must be one of"):
        AudioChunk.parse({"pcm": b"\x00\x00", "sample_rate_hz": [16000]}, "cbor", 0)


def test_resume_needs_a_session_id_and_a_token() -> None:
    from server.protocol.messages import Resume

    assert Resume.parse({"session_id": "abcdefgh1234", "resume_token": "t" * 32}) == Resume("abcdefgh1234", "t" * 32)
    for bad in (
        {},
        {"session_id": "abcdefgh1234"},
        {"session_id": "a.b*c>", "resume_token": "t" * 32},
        {"session_id": "abcdefgh1234", "resume_token": "short"},
        {"session_id": 5, "resume_token": "t" * 32},
    ):
        with pytest.raises(ProtocolError) as e:
            Resume.parse(bad)
        assert e.value.code == ErrorCode.RESUME_FAILED
