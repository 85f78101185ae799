"""LatestInputs: staleness, holds, the look-ahead delay and "latest inputs at t", without threads."""

import numpy as np
import pytest

from avatar_mapping.emotion_fusion import EmotionEvidence
from avatar_mapping.features import FaceFeatures
from avatar_mapping.latest_inputs import MAX_DELAYED_FACES, LatestInputs, TimingOptions
from avatar_mapping.voice_features import VoiceFeatures


def face(capture_ms: int) -> FaceFeatures:
    return FaceFeatures.from_blendshapes(np.full(52, 0.5), capture_ms)


def voice(capture_ms: int) -> VoiceFeatures:
    return VoiceFeatures(True, capture_ms, speaking_probability=0.9)


def test_before_any_input_the_user_is_absent_and_silent() -> None:
    s = LatestInputs(start_s=10.0).sample(10.02)
    assert not s.face.present and not s.voice.present
    assert s.age_s == pytest.approx(0.02)


def test_the_newest_face_and_its_age() -> None:
    inputs = LatestInputs()
    first, second = face(1000), face(1033)
    assert inputs.put_face(first, 1.0) == pytest.approx(1.0)  # from start_s 0, capped at 1 s
    assert inputs.put_face(second, 1.033) == pytest.approx(0.033)
    s = inputs.sample(1.05)
    assert s.face is second and s.age_s == pytest.approx(0.017)
    assert inputs.face_received_s == 1.033


def test_a_face_older_than_the_stale_limit_becomes_absent_and_stays_one_object() -> None:
    inputs = LatestInputs(TimingOptions(stale_s=0.5))
    f = face(1000)
    inputs.put_face(f, 1.0)
    assert inputs.sample(1.5).face is f  # exactly at the limit: still the user
    stale = inputs.sample(1.51)
    assert not stale.face.present and stale.face.capture_ms == 1000
    assert inputs.sample(1.6).face is stale.face  # the same object while the input is the same
    inputs.put_face(face(2000), 2.0)
    assert inputs.sample(2.6).face is not stale.face


def test_a_voice_that_stops_arriving_becomes_silent() -> None:
    inputs = LatestInputs()
    v = voice(500)
    inputs.put_voice(v, 1.0)
    assert inputs.sample(1.4).voice is v
    silent = inputs.sample(1.6).voice
    assert not silent.present and silent.capture_ms == 500 and inputs.sample(1.7).voice is silent


def test_speech_emotion_is_held_for_its_hold_time_and_only_while_there_is_a_voice() -> None:
    inputs = LatestInputs(TimingOptions(speech_emotion_hold_s=4.0))
    heard = EmotionEvidence("sensevoice", 0.8, scores=np.eye(7)[1])
    inputs.put_speech_emotion(heard, 1.0)
    assert inputs.sample(1.1).voice.speech_emotion == ()  # no voice yet: nothing to attach it to
    v = voice(900)
    inputs.put_voice(v, 1.2)
    with_it = inputs.sample(1.3).voice
    assert with_it.speech_emotion == (heard,) and with_it.speaking_probability == 0.9
    assert inputs.sample(1.35).voice is with_it  # built once per (voice, evidence)
    for t in (3.0, 4.5):
        inputs.put_voice(v, t)
    assert inputs.sample(4.99).voice.speech_emotion == (heard,)
    assert inputs.sample(5.0).voice is v  # the hold is over


def test_look_ahead_delays_the_face_by_the_delay() -> None:
    inputs = LatestInputs(TimingOptions(delay_s=0.3))
    faces = [face(1000 + 100 * k) for k in range(5)]
    for k, f in enumerate(faces):
        inputs.put_face(f, 1.0 + 0.1 * k)
    early = inputs.sample(1.2)
    assert not early.face.present  # nothing was received 0.3 s before 1.2
    s = inputs.sample(1.55)  # the newest face received at or before 1.25
    assert s.face is faces[2] and s.age_s == pytest.approx(0.05)
    assert inputs.sample(1.7).face is faces[4]
    assert not inputs.sample(2.31).face.present  # 0.5 s stale on the delayed clock


def test_the_delay_queue_is_bounded() -> None:
    inputs = LatestInputs(TimingOptions(delay_s=1.0))
    for k in range(MAX_DELAYED_FACES * 3):
        inputs.put_face(face(k), 0.001 * k)
    assert len(inputs._delayed) == MAX_DELAYED_FACES


def test_same_puts_and_times_give_the_same_samples() -> None:
    def run() -> list[tuple[bool, int, bool, float]]:
        inputs = LatestInputs(TimingOptions(delay_s=0.1))
        out = []
        for k in range(40):
            if k % 3 == 0:
                inputs.put_face(face(k * 33), k / 60)
            if k % 5 == 0:
                inputs.put_voice(voice(k * 33), k / 60)
            s = inputs.sample(k / 60 + 0.004)
            out.append((s.face.present, s.face.capture_ms, s.voice.present, s.age_s))
        return out

    assert run() == run()
