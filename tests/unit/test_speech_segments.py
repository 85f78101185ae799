"""Cutting live speech into recogniser windows: segments, partial windows, limits."""

import numpy as np

from server.inference.speech_segments import RATE_HZ, SegmenterOptions, SpeechSegmenter, SpeechWindow

CHUNK = 1600  # 100 ms


def feed(seg: SpeechSegmenter, pattern: list[tuple[bool, float]]) -> list[tuple[float, SpeechWindow]]:
    """pattern: (speaking, seconds); returns every window with the time it came out."""
    out: list[tuple[float, SpeechWindow]]
    t_ms, out = 0.0, []
    for speaking, seconds in pattern:
        for _ in range(int(round(seconds * 10))):
            t_ms += 100
            out += [(t_ms, w) for w in seg.push(np.full(CHUNK, 0.1 if speaking else 0.0, np.float32), speaking, t_ms)]
    return out


def test_a_segment_with_partial_windows_while_speaking() -> None:
    out = feed(SpeechSegmenter(), [(False, 1.0), (True, 2.5), (False, 1.0)])
    partial = [(t, w) for t, w in out if not w.final]
    final = [w for _, w in out if w.final]
    assert [t for t, _ in partial] == [2000, 3000]  # every 1 s of speech, as it happens
    assert all(len(w.samples) == RATE_HZ for _, w in partial)
    assert partial[0][1].start_ms == 1000 and partial[0][1].end_ms == 2000
    (seg,) = final
    assert seg.start_ms == 1000 - 200  # speech starts at 1000 ms; 0.2 s pre-roll
    assert 3500 + 300 <= seg.end_ms <= 3500 + 400  # closed after 0.3 s of silence


def test_short_bursts_are_not_sent_and_long_speech_is_cut() -> None:
    assert feed(SpeechSegmenter(SegmenterOptions(pre_roll_s=0.0)), [(True, 0.1), (False, 1.0)]) == []
    out = feed(SpeechSegmenter(SegmenterOptions(max_segment_s=3.0)), [(True, 7.0)])
    finals = [w for _, w in out if w.final]
    assert len(finals) == 2 and all(abs(len(w.samples) / RATE_HZ - 3.0) < 0.11 for w in finals)


def test_flush_ends_the_segment_in_progress() -> None:
    seg = SpeechSegmenter()
    feed(seg, [(True, 0.6)])
    (w,) = seg.flush()
    assert w.final and seg.flush() == []
