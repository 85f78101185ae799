"""EmotionReport.of: what an emotion_update says, computed from a mapped tick."""

import math

import numpy as np
import pytest

from avatar_mapping.emotion_fusion import EmotionEvidence
from avatar_mapping.emotion_report import EmotionReport
from avatar_mapping.features import EyeGaze, FaceFeatures
from avatar_mapping.fused import fuse
from avatar_mapping.vocabulary import EMOTIONS
from avatar_mapping.voice_features import VoiceFeatures

# Scores and affect go through numpy kernels: compared within this, never bit for bit.
COMPUTED = 1e-9


def test_an_absent_face_without_a_voice_reports_nothing_known() -> None:
    r = EmotionReport.of(FaceFeatures.absent(3))
    assert (r.emotion, r.scores, r.source, r.valence, r.arousal, r.dominance) == (None,) * 6
    assert r.speaking_probability is None and r.speech_emotion == () and (r.gaze_x, r.gaze_y) == (0.0, 0.0)
    assert not r.face.present and r.face.capture_ms == 3


def test_a_face_reports_its_fused_emotion_and_gaze_as_tangents() -> None:
    happy = np.eye(len(EMOTIONS))[EMOTIONS.index("happy")] * 0.9 + 0.1 / len(EMOTIONS)
    face = FaceFeatures.from_blendshapes(
        np.zeros(52), 100, emotion_scores=happy, left_eye=EyeGaze(10.0, -4.0), right_eye=EyeGaze(6.0, -2.0)
    )
    r = EmotionReport.of(face, fuse(face))
    assert r.emotion == "happy" and r.source is not None and "face_cnn" in r.source
    assert r.scores is not None and r.scores.sum() == pytest.approx(1.0, abs=COMPUTED)
    assert r.gaze_x == pytest.approx(math.tan(math.radians(8.0)), abs=COMPUTED)
    assert r.gaze_y == pytest.approx(math.tan(math.radians(-3.0)), abs=COMPUTED)
    assert r.valence is not None and r.valence > 0.3  # happy is pleasant


def test_the_trackers_class_and_scores_are_reported_when_given() -> None:
    face = FaceFeatures.from_blendshapes(np.zeros(52), 100)
    tracked = np.array([0.6, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05])
    r = EmotionReport.of(face, fuse(face), "neutral", tracked)
    assert r.emotion == "neutral" and r.scores is not None and np.array_equal(r.scores, tracked)


def test_speech_emotion_and_speaking_come_from_a_present_voice_only() -> None:
    prosody = EmotionEvidence("prosody", 0.5, arousal=0.9)
    voice = VoiceFeatures(True, 50, speaking_probability=0.8, speech_emotion=(prosody,))
    r = EmotionReport.of(FaceFeatures.absent(50), fuse(FaceFeatures.absent(50), voice))
    assert r.speaking_probability == 0.8 and r.speech_emotion == (prosody,)
    assert r.valence is None and r.arousal == pytest.approx(0.9, abs=COMPUTED)  # prosody gives arousal, never valence
    silent = EmotionReport.of(FaceFeatures.absent(50), fuse(FaceFeatures.absent(50), VoiceFeatures.silent(50)))
    assert silent.speaking_probability is None and silent.speech_emotion == ()
