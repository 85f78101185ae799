"""Each A/B metric on synthetic signals whose answer is known."""

import numpy as np
import pytest

from avatar_mapping.vocabulary import ARKIT_BLENDSHAPES
from server.tools.ab_metrics import (
    added_latency_ms,
    expression_kept_while_speaking,
    expressiveness,
    jitter_percent,
    lag_ms,
    mouth_speech,
    saturation_share,
    stream_metrics,
    switches_per_min,
)

RATE = 60.0


def test_jitter_of_a_constant_with_known_noise() -> None:
    rng = np.random.default_rng(0)
    noise = rng.uniform(-0.01, 0.01, (6000, 1))
    w = 0.5 + noise  # range 0.02; E|diff| of two U(-a, a) is 2a/3 -> 0.00667 / 0.02 = 33 %
    assert jitter_percent(w) == pytest.approx(100 * (2 * 0.01 / 3) / 0.02, rel=0.03)
    ramp = np.linspace(0, 1, 101)[:, None]  # 1 % of the range per frame
    assert jitter_percent(ramp) == pytest.approx(1.0)
    assert jitter_percent(np.zeros((10, 3))) == 0.0


def test_a_known_delay_is_found() -> None:
    t = np.arange(600)
    x = np.sin(t / 17.0) + 0.3 * np.sin(t / 5.0)
    y = np.roll(x, 6)  # 6 frames at 60 Hz = 100 ms
    y[:6] = x[0]
    assert lag_ms(x, y, RATE) == pytest.approx(100.0)
    assert lag_ms(x, np.zeros_like(x), RATE) is None
    inputs = np.zeros((600, len(ARKIT_BLENDSHAPES)))
    inputs[:, ARKIT_BLENDSHAPES.index("jawOpen")] = x
    assert added_latency_ms(y[:, None], ("jawOpen",), inputs, RATE) == pytest.approx(100.0)


def test_a_step_through_a_first_order_filter_lags_by_its_time_constant() -> None:
    x = np.zeros(240)
    x[60:] = 1.0
    y = np.zeros_like(x)
    a = 1 - np.exp(-1 / (RATE * 0.05))  # tau 50 ms
    for i in range(1, len(x)):
        y[i] = y[i - 1] + a * (x[i] - y[i - 1])
    lag = lag_ms(x, y, RATE)
    assert lag is not None and 0.0 <= lag <= 50.0


def test_expressiveness_saturation_and_switches() -> None:
    w = np.zeros((121, 2))
    w[:, 0] = np.linspace(0, 1, 121)  # mouthSmileLeft: full range, 1 unit in 2 s
    e = expressiveness(w, ("mouthSmileLeft", "browInnerUp"), RATE)
    assert e["mouth"]["dynamic_range"] == pytest.approx(0.9) and e["mouth"]["activity_per_s"] == pytest.approx(0.5)
    assert e["brows"]["dynamic_range"] == 0.0
    pinned = np.concatenate([np.zeros((30, 1)), np.full((30, 1), 0.5), np.ones((40, 1))])
    assert saturation_share(pinned) == pytest.approx(0.7)
    tops = ["happy"] * 300 + ["sad"] * 300 + ["happy"] * 600  # 2 switches in 20 s
    assert switches_per_min(tops, RATE) == pytest.approx(6.0)
    assert switches_per_min([None] * 10, RATE) is None


def test_mouth_speech_agreement() -> None:
    speaking = np.r_[np.zeros(50), np.ones(50)]
    mouth = np.r_[np.zeros(50), np.full(50, 0.6)]
    m = mouth_speech(mouth[:, None], ("jawOpen",), speaking)
    assert m == {"correlation": pytest.approx(1.0), "agreement": 1.0}
    closed = mouth_speech(np.zeros((100, 1)), ("jawOpen",), speaking)
    assert closed is not None and closed["agreement"] == 0.5
    assert mouth_speech(mouth[:, None], ("jawOpen",), np.zeros(100)) is None
    # A strategy that opens the mouth through viseme targets, the jaw at rest, opens it all the same.
    by_visemes = np.c_[np.zeros(100), mouth * 0.5, mouth * 0.5, np.ones(100)]
    m = mouth_speech(by_visemes, ("jawOpen", "viseme_aa", "viseme_O", "viseme_sil"), speaking)
    assert m == {"correlation": pytest.approx(1.0), "agreement": 1.0}


def test_all_metrics_together() -> None:
    w = np.full((100, 1), 0.5)
    m = stream_metrics(w, ("jawOpen",), RATE, np.zeros((100, 52)), np.zeros(100), [None] * 100)
    assert m.jitter_percent == 0.0 and m.jitter_below_target and m.added_latency_ms is None
    assert set(m.to_dict()) >= {
        "jitter_percent",
        "added_latency_ms",
        "expressiveness",
        "mouth_speech",
        "saturation_share",
        "emotion_switches_per_min",
        "expression_kept_while_speaking",
    }
    assert m.expression_kept_while_speaking is None  # no speech, no expression


def test_expression_kept_while_speaking() -> None:
    """A smile held at 0.9 through speech: a strategy that keeps it scores 1, one that hands the
    mouth to the visemes (the smile falling to 0.1 while speaking, issue 25) scores ~0.1."""
    n = 120
    inputs = np.zeros((n, 52))
    smile, brow = ARKIT_BLENDSHAPES.index("mouthSmileLeft"), ARKIT_BLENDSHAPES.index("browInnerUp")
    inputs[:, smile] = 0.9
    inputs[:, brow] = 0.05  # below EXPRESSED: not counted
    speaking = np.r_[np.zeros(n // 2), np.ones(n // 2)]
    channels = ("mouthSmileLeft", "browInnerUp", "jawOpen")
    kept = np.c_[np.full(n, 0.9), np.zeros(n), speaking * 0.6]
    replaced = np.c_[np.where(speaking > 0.5, 0.1, 0.9), np.zeros(n), speaking * 0.6]
    boosted = np.c_[np.ones(n), np.zeros(n), speaking * 0.6]  # more than the face: capped at what it showed
    assert expression_kept_while_speaking(kept, channels, inputs, speaking) == pytest.approx(1.0)
    assert expression_kept_while_speaking(replaced, channels, inputs, speaking) == pytest.approx(0.1 / 0.9)
    assert expression_kept_while_speaking(boosted, channels, inputs, speaking) == pytest.approx(1.0)
    assert expression_kept_while_speaking(kept, channels, inputs, np.zeros(n)) is None
    assert expression_kept_while_speaking(kept, channels, np.zeros((n, 52)), speaking) is None
