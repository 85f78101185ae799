"""The recorder sink: the mapped inputs, never media, from the first tick; variant B skipped."""

from pathlib import Path

import numpy as np

from avatar_mapping.features import FaceFeatures
from avatar_mapping.latest_inputs import InputSample
from avatar_mapping.voice_features import VoiceFeatures
from server.protocol.constants import Variant
from server.protocol.recording import Recording, RecordingHeader, new_header
from server.sinks.base import FrameMeta
from server.sinks.recorder import RecorderSink
from tests.support.golden import avatar_frame
from tests.support.rigs import load_rig


def meta(t_s: float, inputs: InputSample, variant: Variant | None = None) -> FrameMeta:
    return FrameMeta("s1", 0, 0, variant, inputs, 1 / 60, t_s)


def test_it_records_what_was_mapped_from_the_first_tick_and_replays(tmp_path: Path) -> None:
    path = tmp_path / "recordings" / "s1.cborseq"
    asked: list[int] = []

    def header() -> RecordingHeader:
        asked.append(1)
        return new_header("arkit52", "hybrid", {"accent": 0.5}, None, 60.0, "session:s1")

    sink = RecorderSink(path, header)
    assert not path.exists() and not asked  # nothing until a tick comes
    frame = avatar_frame(load_rig("arkit52"))
    face = FaceFeatures.from_blendshapes(np.linspace(0, 1, 52) / 3, 100)
    voice = VoiceFeatures(True, 90, 0.8)
    first = InputSample(face, voice, 0.0)
    sink.on_frame(frame, meta(0.0, first))
    sink.on_frame(frame, meta(0.0, first, Variant.B))  # the same inputs again, for variant B: not written
    sink.on_frame(frame, meta(1 / 60, first))  # unchanged inputs: not written again
    later = InputSample(FaceFeatures.absent(100), voice, 0.6)
    sink.on_frame(frame, meta(2 / 60, later))
    sink.close()
    sink.close()
    rec = Recording.read(path)
    assert len(asked) == 1 and rec.header.strategy == "hybrid"
    assert [s.t_ms for s in rec.samples] == [0.0, 1000 * 2 / 60]
    assert np.array_equal(rec.samples[0].face.blendshapes, face.blendshapes) and not rec.samples[1].face.present
    assert rec.samples[1].voice.speaking_probability == 0.8
