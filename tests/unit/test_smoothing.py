import numpy as np
import pytest

from avatar_mapping.one_euro import OneEuroParams
from avatar_mapping.smoothing import GroupSmoother, SpringParams, jitter_percent
from avatar_mapping.spring import CriticallyDampedSpring


def test_spring_reaches_a_step_in_its_smooth_time_without_overshoot_at_any_rate() -> None:
    for rate in (30, 60, 144):
        s = CriticallyDampedSpring(np.array([0.025]))  # the visemes group
        s(np.array([0.0]), 1 / rate)
        values = [s(np.array([1.0]), 1 / rate)[0] for _ in range(int(0.3 * rate))]
        t_90 = (np.argmax(np.array(values) > 0.9) + 1) / rate
        assert 0.03 <= t_90 <= 0.06 + 1 / rate, (rate, t_90)  # a 30-60 ms crossfade (to the frame)
        assert max(values) <= 1.0 + 1e-9


def test_group_smoother_routes_each_element_to_its_filter() -> None:
    g = GroupSmoother(["a", "b"], {"a": OneEuroParams(1.0, 0.0), "b": SpringParams(0.05)})
    g(np.zeros(2), 1 / 60)
    out = g(np.ones(2), 1 / 60)
    assert out[0] == pytest.approx(1 / (1 + 1 / (2 * np.pi / 60)), rel=1e-6)  # one-euro alpha at 1 Hz
    assert 0 < out[1] < 1


def test_jitter_metric() -> None:
    frames = np.array([[0.0, 0.5], [0.1, 0.5], [0.0, 0.5]])
    assert np.allclose(jitter_percent(frames), [10.0, 0.0])
    assert np.allclose(jitter_percent(frames, np.array([0.5, 1.0])), [20.0, 0.0])
