"""AvatarOutput: one tick maps the sampled inputs and hands frames and emotion to the sinks,
in order, with per-kind sequences; A/B adds variant B after variant A."""

import numpy as np
import pytest

from avatar_mapping.avatar_frame import AvatarFrame
from avatar_mapping.emotion_report import EmotionReport
from avatar_mapping.features import FaceFeatures
from avatar_mapping.latest_inputs import InputSample
from avatar_mapping.voice_features import VoiceFeatures
from server.live.output import AvatarOutput
from server.protocol.constants import Variant
from server.sinks.base import FrameMeta, MessageMeta
from tests.support.fakes import Tally
from tests.support.rigs import load_rig


def smiling(capture_ms: int = 100) -> InputSample:
    b = np.zeros(52)
    b[[43, 44]] = 0.8  # mouthSmileLeft/Right
    return InputSample(FaceFeatures.from_blendshapes(b, capture_ms), VoiceFeatures.silent(0), 0.01)


Call = tuple[str, str, Variant | None, int]  # (sink, kind, variant, sequence)


def output(emotion_rate_hz: float = 10.0) -> tuple[AvatarOutput, list[Call]]:
    calls: list[Call] = []

    class Recorder(Tally):
        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

        def on_frame(self, frame: AvatarFrame, meta: FrameMeta) -> None:
            calls.append((self.name, "frame", meta.variant, meta.sequence))
            super().on_frame(frame, meta)

        def on_emotion(self, report: EmotionReport, meta: MessageMeta) -> None:
            calls.append((self.name, "emotion", None, meta.sequence))

    out = AvatarOutput("s1", load_rig("arkit52"), emotion_rate_hz)
    out.add_sink(Recorder("first"))
    out.add_sink(Recorder("second"))
    return out, calls


def test_each_tick_reaches_every_sink_in_order_and_emotion_comes_at_its_rate() -> None:
    out, calls = output(emotion_rate_hz=20.0)
    for k in range(6):
        out.tick(smiling(), 1 / 60, k / 60, 1000 + k)
    frames = [c for c in calls if c[1] == "frame"]
    assert frames[:2] == [("first", "frame", None, 0), ("second", "frame", None, 0)]
    assert [c[3] for c in frames if c[0] == "first"] == list(range(6))
    emotions = [c for c in calls if c[1] == "emotion" and c[0] == "first"]
    assert [c[3] for c in emotions] == [0, 1]  # the first tick, then every 1/20 s = 3 ticks
    assert calls.index(("first", "emotion", None, 0)) > calls.index(("second", "frame", None, 0))


def test_emotion_updates_keep_their_rate_at_any_tick_rate() -> None:
    """10 Hz from 60 Hz ticks is every sixth tick: resetting the timer made it every seventh (8.6 Hz)."""
    for tick_hz in (60.0, 30.0, 45.0):
        out, calls = output(emotion_rate_hz=10.0)
        for k in range(int(tick_hz * 3)):  # 3 s
            out.tick(smiling(), 1 / tick_hz, k / tick_hz, 1000 + k)
        assert len([c for c in calls if c[:2] == ("first", "emotion")]) in (30, 31), tick_hz
    out, calls = output(emotion_rate_hz=10.0)
    out.tick(smiling(), 1 / 60, 0.0, 1000)
    out.tick(smiling(), 5.0, 5.0, 6000)  # a stalled loop: one update, not fifty
    out.tick(smiling(), 1 / 60, 5.02, 6017)
    assert len([c for c in calls if c[:2] == ("first", "emotion")]) == 2


def test_the_sinks_get_the_mapped_frame_and_the_inputs_it_came_from() -> None:
    out = AvatarOutput("s1", load_rig("arkit52"), 10.0)
    sink = Tally()
    out.add_sink(sink)
    inputs = smiling()
    for k in range(10):
        out.tick(inputs, 1 / 60, k / 60, 1000 + k)
    frame, meta = sink.frames[-1]
    assert meta.inputs is inputs and meta.dt_s == pytest.approx(1 / 60) and meta.t_s == pytest.approx(9 / 60)
    assert meta.session_id == "s1" and meta.timestamp_ms == 1009 and meta.variant is None
    assert frame.weights[frame.channels.index("mouthSmileLeft")] > 0.5
    assert sink.emotions and sink.emotions[0].face is inputs.face


def test_a_comparison_sends_b_after_a_with_its_own_sequence_and_stops_cleanly() -> None:
    from avatar_mapping.mapper import rig_context
    from avatar_mapping.strategies import make_strategy

    rig = load_rig("arkit52")
    out = AvatarOutput("s1", rig, 10.0)
    wire = Tally()
    out.add_sink(wire)
    out.set_compare(make_strategy("emotion_preset", rig_context(rig), {}), wire)
    late = Tally()
    out.add_sink(late)  # added after the comparison: still called before it
    for k in range(3):
        out.tick(smiling(), 1 / 60, k / 60, 1000 + k)
    variants = [(m.variant, m.sequence) for _, m in wire.frames]
    assert variants == [(Variant.A, 0), (Variant.B, 0), (Variant.A, 1), (Variant.B, 1), (Variant.A, 2), (Variant.B, 2)]
    assert [m.variant for _, m in late.frames] == [Variant.A] * 3
    out.set_compare(None)
    out.tick(smiling(), 1 / 60, 0.05, 1003)
    assert wire.frames[-1][1].variant is None and wire.frames[-1][1].sequence == 3
    with pytest.raises(ValueError):
        out.set_compare(make_strategy("direct", rig_context(rig), {}))  # a new comparison needs its target


def test_closing_closes_every_sink_once() -> None:
    out, _ = output()
    sinks = list(out.sinks)
    out.close()
    assert all(isinstance(s, Tally) and s.closed for s in sinks) and out.sinks == []
