"""Blendshapes from the face's shape (pure): estimates against a neutral, blending, the
neutral learnt while a video is tracked."""

from itertools import pairwise

import numpy as np
import pytest

from avatar_mapping.geometric_channels import (
    CHANNELS,
    LIPS_APART,
    MEASURES,
    GeometricChannel,
    NeutralTracker,
    blend,
    estimate,
)
from avatar_mapping.vocabulary import ARKIT_BLENDSHAPES, ARKIT_INDEX

M = {m: i for i, m in enumerate(MEASURES)}
C = {c.channel: k for k, c in enumerate(CHANNELS)}
NEUTRAL = np.array([1.38, 0.37, 0.37, 0.18, 0.18, 0.0])


def face(**changes: float) -> np.ndarray:
    """The neutral face's measures with some changed by a relative amount (lip_gap absolute)."""
    m = NEUTRAL.copy()
    m[M["lip_gap"]] = 0.01
    for name, change in changes.items():
        m[M[name]] = change if name == "lip_gap" else m[M[name]] * (1 + change)
    return m


def test_the_neutral_face_reads_nothing_and_jitter_stays_in_the_dead_band() -> None:
    assert not estimate(face(), NEUTRAL).any()
    for c in CHANNELS:
        assert estimate(face(**{c.measure: c.direction * 0.9 * c.dead_band}), NEUTRAL)[C[c.channel]] == 0.0


@pytest.mark.parametrize("c", CHANNELS, ids=lambda c: c.channel)
def test_each_channel_rises_with_its_measure_to_one_at_full_scale(c: GeometricChannel) -> None:
    steps = np.linspace(0, 1.3 * c.full_scale, 14)
    values = [estimate(face(**{c.measure: c.direction * s}), NEUTRAL)[C[c.channel]] for s in steps]
    assert all(b >= a for a, b in pairwise(values)) and values[-1] == 1.0
    assert estimate(face(**{c.measure: c.direction * c.full_scale}), NEUTRAL)[C[c.channel]] == pytest.approx(1.0)
    # The other way is not this expression.
    assert estimate(face(**{c.measure: -c.direction * c.full_scale}), NEUTRAL)[C[c.channel]] == 0.0


def test_cheeks_only_puff_with_the_lips_sealed() -> None:
    wide = dict(cheek_width=0.08)
    assert estimate(face(**wide), NEUTRAL)[C["cheekPuff"]] == pytest.approx(1.0)
    assert estimate(face(**wide, lip_gap=LIPS_APART), NEUTRAL)[C["cheekPuff"]] == 0.0  # a wide open mouth


def test_puffed_cheeks_pulling_the_nose_wings_are_not_a_sneer() -> None:
    puff = estimate(face(cheek_width=0.05, nose_wing_eye_left=-0.05, nose_wing_eye_right=-0.05), NEUTRAL)
    assert puff[C["noseSneerLeft"]] == puff[C["noseSneerRight"]] == 0.0 and puff[C["cheekPuff"]] > 0.3
    sneer = estimate(face(nose_wing_eye_left=-0.08), NEUTRAL)
    assert sneer[C["noseSneerLeft"]] > 0.6 and sneer[C["noseSneerRight"]] == 0.0


def test_blending_raises_and_never_lowers() -> None:
    b = np.full(len(ARKIT_BLENDSHAPES), 0.3)
    est = np.zeros(len(CHANNELS))
    est[C["cheekPuff"]], est[C["noseSneerLeft"]] = 0.8, 0.1
    out = blend(b, est)
    assert out[ARKIT_INDEX["cheekPuff"]] == 0.8 and out[ARKIT_INDEX["noseSneerLeft"]] == 0.3
    assert np.count_nonzero(out != b) == 1 and b[ARKIT_INDEX["cheekPuff"]] == 0.3  # the input is not changed


def test_the_neutral_is_learnt_from_rest_and_barely_follows_a_held_expression() -> None:
    tracker = NeutralTracker()
    rng = np.random.default_rng(0)
    start = face()
    for _ in range(300):  # 10 s at rest with jitter
        tracker.update(start * (1 + rng.normal(0, 0.003, len(start))), 1 / 30)
    assert tracker.neutral is not None
    rest = tracker.neutral.copy()
    np.testing.assert_allclose(rest[:5], NEUTRAL[:5], rtol=0.01)
    puffed = face(cheek_width=0.08)
    for _ in range(300):  # a puff held for 10 s
        tracker.update(puffed, 1 / 30)
    drift = tracker.neutral[M["cheek_width"]] / rest[M["cheek_width"]] - 1
    assert 0 < drift < 0.012  # of the puff's 8 %
    assert estimate(puffed, tracker.neutral)[C["cheekPuff"]] > 0.8


def test_a_neutral_that_started_on_an_expression_comes_back_to_rest() -> None:
    tracker = NeutralTracker()
    tracker.update(face(cheek_width=0.06), 0.0)  # the first frame: cheeks puffed
    for _ in range(30 * 20):  # 20 s at rest
        tracker.update(face(), 1 / 30)
    assert tracker.neutral is not None
    assert estimate(face(), tracker.neutral)[C["cheekPuff"]] == 0.0
    assert tracker.neutral[M["cheek_width"]] == pytest.approx(NEUTRAL[M["cheek_width"]], rel=0.01)


def test_the_tracker_is_deterministic() -> None:
    a, b = NeutralTracker(), NeutralTracker()
    rng = np.random.default_rng(1)
    frames = [face() * (1 + rng.normal(0, 0.01, len(NEUTRAL))) for _ in range(100)]
    for f in frames:
        a.update(f, 0.033)
    for f in frames:
        b.update(f, 0.033)
    assert a.neutral is not None and b.neutral is not None and np.array_equal(a.neutral, b.neutral)
