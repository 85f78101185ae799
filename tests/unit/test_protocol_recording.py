"""Feature recordings: exact round trips, only changes written, clear errors."""

from pathlib import Path

import cbor2
import numpy as np
import pytest

from avatar_mapping.emotion_fusion import EmotionEvidence
from avatar_mapping.features import FaceFeatures
from avatar_mapping.voice_features import VoiceFeatures
from server.protocol.recording import Recorder, Recording, RecordingError, new_header
from tests.support.samples import sample_face


def test_round_trip_is_exact_and_only_changes_are_written(tmp_path: Path) -> None:
    path = tmp_path / "r.cborseq"
    voice = VoiceFeatures(True, 10, 0.75, np.eye(15)[3] / 3.0, 0.5, (EmotionEvidence("prosody", 0.5, arousal=0.6),))
    faces = [sample_face(k) for k in range(3)]
    rec = Recorder(path.open("wb"), new_header("arkit52", "direct", {}, None, 60.0, "test"))
    rec.write(0.0, faces[0], voice)
    rec.write(16.7, faces[0], voice)  # nothing new: not written
    rec.write(33.3, faces[1], voice)
    rec.write(66.7, faces[2], voice)
    rec.close()
    assert rec.items == 3
    back = Recording.read(path)
    assert back.header.rig == "arkit52" and back.header.rate_hz == 60.0 and len(back.samples) == 3
    got = back.samples[2]
    assert got.t_ms == 66.7 and np.array_equal(got.face.blendshapes, faces[2].blendshapes)
    assert np.array_equal(got.face.action_units, faces[2].action_units) and repr(got.face.head) == repr(faces[2].head)
    assert got.face.emotion_scores is not None and faces[2].emotion_scores is not None
    assert np.array_equal(got.face.emotion_scores, faces[2].emotion_scores)
    assert np.array_equal(got.voice.visemes, voice.visemes) and got.voice.speech_emotion[0].arousal == 0.6


def test_not_a_recording(tmp_path: Path) -> None:
    bad = tmp_path / "x.cborseq"
    bad.write_bytes(cbor2.dumps({"format": "something-else"}))
    with pytest.raises(RecordingError, match="not an avatar-driver recording"):
        Recording.read(bad)
    bad.write_bytes(
        cbor2.dumps({"format": "avatar-driver-recording", "version": 1, "rig": "r", "strategy": "s"})
        + cbor2.dumps({"t_ms": 0, "face": {"present": True}})
    )
    with pytest.raises(RecordingError, match="item 1 is malformed"):
        Recording.read(bad)
    bad.write_bytes(b"\xff\xff")
    with pytest.raises(RecordingError):
        Recording.read(bad)


def test_equal_values_in_a_new_object_are_not_written_again(tmp_path: Path) -> None:
    path = tmp_path / "r.cborseq"
    rec = Recorder(path.open("wb"), new_header("arkit52", "direct", {}, None, 60.0, "test"))
    silent = VoiceFeatures.silent(0)
    for k in range(10):  # a stale face replaced by a fresh absent one on every tick
        rec.write(k * 16.7, FaceFeatures.absent(5), silent)
    rec.write(200.0, sample_face(1), silent)
    rec.close()
    assert rec.items == 2 and len(Recording.read(path).samples) == 2


def test_a_cut_off_recording_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "r.cborseq"
    rec = Recorder(path.open("wb"), new_header("arkit52", "direct", {}, None, 60.0, "test"))
    rec.write(0.0, sample_face(1), VoiceFeatures.silent(0))
    rec.close()
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(RecordingError, match="cut off"):
        Recording.read(path)
