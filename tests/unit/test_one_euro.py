import numpy as np
import numpy.typing as npt

from avatar_mapping.one_euro import OneEuroFilter


def run(filter_: OneEuroFilter, signal: npt.NDArray[np.float64], dt: float) -> npt.NDArray[np.float64]:
    return np.array([filter_(np.array([x]), dt)[0] for x in signal])


def test_removes_noise_on_a_still_signal() -> None:
    rng = np.random.default_rng(0)
    noisy = 0.5 + rng.normal(0, 0.02, 600)
    out = run(OneEuroFilter([1.0], [0.5], [1.0]), noisy, 1 / 60)
    assert np.std(np.diff(out[60:])) < 0.25 * np.std(np.diff(noisy[60:]))


def test_is_frame_rate_independent() -> None:
    """The same step seen at 30 Hz and at 120 Hz reaches the same level at the same time."""

    def level_at(t_end: float, rate: int) -> float:
        f = OneEuroFilter([1.5], [0.0], [1.0])
        f(np.array([0.0]), 1 / rate)
        n = int(t_end * rate)
        return float(run(f, np.ones(n), 1 / rate)[-1])

    assert abs(level_at(0.25, 30) - level_at(0.25, 120)) < 0.05


def test_fast_motion_lags_less_with_beta() -> None:
    ramp = np.linspace(0, 1, 30)
    slow = run(OneEuroFilter([1.0], [0.0], [1.0]), ramp, 1 / 60)
    fast = run(OneEuroFilter([1.0], [5.0], [1.0]), ramp, 1 / 60)
    assert abs(fast[-1] - 1) < abs(slow[-1] - 1)


def test_zero_dt_holds_the_value() -> None:
    f = OneEuroFilter([1.0], [0.0], [1.0])
    f(np.array([0.2]), 1 / 60)
    assert f(np.array([0.9]), 0.0)[0] == 0.2
