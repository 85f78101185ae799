"""The bus's messages as bytes: every topic round-trips exactly; foreign bytes are refused."""

from typing import Any

import cbor2
import numpy as np
import pytest

from avatar_mapping.features import FaceFeatures
from avatar_mapping.voice_features import VoiceFeatures
from server.inference.sensevoice import SpeechRecognition
from server.inference.speech_segments import SpeechWindow
from server.inference.speech_tags import parse_result
from server.protocol.bus import (
    BUS_VERSION,
    TOPIC_OF,
    BusCodecError,
    BusMessage,
    FaceResult,
    ReceivedAudio,
    ReceivedVideo,
    StageError,
    Topic,
    VoiceResult,
    decode,
    encode,
)
from server.protocol.constants import ErrorCode
from server.protocol.messages import AudioChunk, VideoFrame
from tests.support.samples import awkward_face


def examples() -> list[BusMessage]:
    rng = np.random.default_rng(3)
    heard = parse_result(
        {
            "key": "k",
            "text": "<|en|><|HAPPY|><|Laughter|><|withitn|>Hello there.",
            "timestamp": [[90, 450], [510, 960]],
            "words": ["Hello", "there."],
        }
    )
    return [
        ReceivedVideo(VideoFrame(1000, image=b"\xff\xd8jpeg"), 12.25),
        ReceivedVideo(VideoFrame(1001, rgb=bytes(range(12)), width=2, height=2), 12.5),
        ReceivedAudio(AudioChunk(1002, np.arange(-5, 5, dtype="<i2").tobytes(), 48000)),
        FaceResult(awkward_face(), 1 / 3),
        FaceResult(FaceFeatures.absent(5), 2.0),
        VoiceResult(
            VoiceFeatures(True, 7, 0.9, rng.dirichlet(np.ones(15)), 0.4), rng.normal(size=(3, 13)), rng.normal(size=3)
        ),
        SpeechWindow(rng.normal(size=1600).astype(np.float32), 2000, False),
        SpeechRecognition(True, 2000, 3500, True, heard, rng.dirichlet(np.ones(7)), 0.75),
        SpeechRecognition(False, 2000, 2100, True, parse_result({"key": "k", "text": ""}), None, 0.0),
        StageError("face", ErrorCode.BAD_IMAGE, "image bytes could not be decoded"),
    ]


def same(a: Any, b: Any) -> bool:
    """Deep equality of what a message carries: arrays bit for bit, dataclasses field by field."""
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if hasattr(a, "__dataclass_fields__"):
        return type(a) is type(b) and all(same(getattr(a, k), getattr(b, k)) for k in a.__dataclass_fields__)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b and type(a) is type(b)


@pytest.mark.parametrize("message", examples(), ids=lambda m: type(m).__name__)
def test_every_message_round_trips_exactly(message: BusMessage) -> None:
    topic = TOPIC_OF[type(message)]
    data = encode(message)
    assert cbor2.loads(data)["v"] == BUS_VERSION and cbor2.loads(data)["topic"] == topic
    assert same(decode(topic, data), message)


def test_every_topic_has_a_message() -> None:
    assert set(TOPIC_OF.values()) == set(Topic)


@pytest.mark.parametrize(
    "data, topic, message",
    [
        (b"\xff\xff", Topic.FACE, "not CBOR"),
        (cbor2.dumps([1]), Topic.FACE, "not a version"),
        (cbor2.dumps({"v": 99, "topic": "face"}), Topic.FACE, "not a version 1"),
        (encode(StageError("face", ErrorCode.BAD_IMAGE, "x")), Topic.FACE, "not a version 1 face"),
        (cbor2.dumps({"v": 1, "topic": "face", "features": {}}), Topic.FACE, "malformed"),
        (
            cbor2.dumps({"v": 1, "topic": "speech_window", "samples": b"abc", "start_ms": 0, "final": True}),
            Topic.SPEECH_WINDOW,
            "malformed",
        ),
        (
            cbor2.dumps({"v": 1, "topic": "stage_error", "stage": "face", "code": "no_such_code", "message": ""}),
            Topic.STAGE_ERROR,
            "malformed",
        ),
    ],
)
def test_foreign_bytes_are_refused_with_the_reason(data: bytes, topic: Topic, message: str) -> None:
    with pytest.raises(BusCodecError, match=message):
        decode(topic, data)
