"""The stages' results as CBOR: exact round trips, shapes checked on the way in."""

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import cbor2
import numpy as np
import pytest

from avatar_mapping.emotion_fusion import EmotionEvidence
from avatar_mapping.features import FaceFeatures
from avatar_mapping.voice_features import VoiceFeatures
from server.protocol.features import face_from_cbor, face_to_cbor, voice_from_cbor, voice_to_cbor
from tests.support.samples import awkward_face


def test_a_face_survives_cbor_bit_for_bit() -> None:
    f = awkward_face().mirror()
    back = face_from_cbor(cbor2.loads(cbor2.dumps(face_to_cbor(f))))
    assert np.array_equal(back.blendshapes, f.blendshapes) and np.array_equal(back.action_units, f.action_units)
    assert back.emotion_scores is not None and f.emotion_scores is not None
    assert np.array_equal(back.emotion_scores, f.emotion_scores)
    assert (back.head.yaw_deg, back.head.pitch_deg, back.head.roll_deg, back.head.translation_cm) == (
        f.head.yaw_deg,
        f.head.pitch_deg,
        f.head.roll_deg,
        f.head.translation_cm,
    )
    assert (back.left_eye, back.right_eye, back.mirrored, back.confidence, back.capture_ms) == (
        f.left_eye,
        f.right_eye,
        True,
        f.confidence,
        f.capture_ms,
    )
    absent = face_from_cbor(cbor2.loads(cbor2.dumps(face_to_cbor(FaceFeatures.absent(9)))))
    assert not absent.present and absent.emotion_scores is None and absent.capture_ms == 9


def test_the_faces_seen_count_crosses_the_bus_and_older_maps_read_as_none_counted() -> None:
    """Issue 25, item 10: how many people a worker's tracker saw reaches the edge's emotion_update."""
    two = replace(awkward_face(), faces_seen=2)
    assert face_from_cbor(cbor2.loads(cbor2.dumps(face_to_cbor(two)))).faces_seen == 2
    older = face_to_cbor(awkward_face())
    del older["faces_seen"]  # a recording made before the count existed
    assert face_from_cbor(older).faces_seen == 0


@pytest.mark.parametrize("bad", [-1, 1.5, True, "2", None])
def test_a_faces_seen_that_is_not_a_count_is_refused(bad: object) -> None:
    d = face_to_cbor(awkward_face()) | {"faces_seen": bad}
    with pytest.raises(ValueError, match="faces_seen must be a non-negative integer"):
        face_from_cbor(d)


def test_a_voice_with_speech_emotion_survives_cbor_bit_for_bit() -> None:
    v = VoiceFeatures(
        True,
        12,
        0.1 + 0.2,
        np.random.default_rng(1).dirichlet(np.ones(15)),
        1 / 3,
        (
            EmotionEvidence("sensevoice", 0.7, np.random.default_rng(2).dirichlet(np.ones(7))),
            EmotionEvidence("prosody", 0.5, arousal=1 / 3),
        ),
    )
    back = voice_from_cbor(cbor2.loads(cbor2.dumps(voice_to_cbor(v))))
    assert np.array_equal(back.visemes, v.visemes) and back.speaking_probability == v.speaking_probability
    assert back.speech_emotion[0].scores is not None and v.speech_emotion[0].scores is not None
    assert np.array_equal(back.speech_emotion[0].scores, v.speech_emotion[0].scores)
    assert back.speech_emotion[1].scores is None and back.speech_emotion[1].arousal == 1 / 3


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.update(blendshapes=np.zeros(10).tobytes()), "blendshapes has 10 values"),
        (lambda d: d.update(action_units=b"\x00" * 7), "float64 bytes"),
        (lambda d: d.update(head=[0.0, 1.0]), "head needs 6"),
        (lambda d: d.update(emotion_scores=np.zeros(3).tobytes()), "emotion_scores has 3"),
    ],
)
def test_a_wrong_sized_face_is_refused_before_it_reaches_the_mapping(
    mutate: Callable[[dict[str, Any]], None], message: str
) -> None:
    d = face_to_cbor(awkward_face())
    mutate(d)
    with pytest.raises(ValueError, match=message):
        face_from_cbor(d)


def test_a_wrong_sized_voice_is_refused() -> None:
    d = voice_to_cbor(VoiceFeatures(True, 1))
    d["visemes"] = np.zeros(14).tobytes()
    with pytest.raises(ValueError, match="visemes has 14"):
        voice_from_cbor(d)
