from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from avatar_mapping.rig import INPUT_NAMES, EyeLimits, RigDefinition, RigError, compile_rig
from avatar_mapping.vocabulary import ARKIT_BLENDSHAPES
from tests.support.rigs import load_rig


def inputs(**named: float) -> npt.NDArray[np.float64]:
    v = np.zeros(len(INPUT_NAMES))
    for k, w in named.items():
        v[INPUT_NAMES.index(k)] = w
    return v


def test_arkit52_is_one_to_one_with_bones() -> None:
    rig = load_rig("arkit52")
    assert rig.channel_names == ARKIT_BLENDSHAPES
    assert rig.bone_names == ("neck", "head", "left_eye", "right_eye")
    x = np.linspace(0, 1, 52)
    assert np.allclose(compile_rig(rig).evaluate(np.concatenate([x, np.zeros(len(INPUT_NAMES) - 52)])), x)


def test_simple_rig_follows_the_design_table() -> None:
    c = compile_rig(load_rig("simple"))
    names = list(load_rig("simple").channel_names)
    # AU12 -> smile: clamp(AU12 * 1.1, 0, 1)
    assert c.evaluate(inputs(AU12=0.5))[names.index("smile")] == pytest.approx(0.55)
    assert c.evaluate(inputs(AU12=0.95))[names.index("smile")] == 1.0
    # AU04 -> frown: sigmoid with a smooth onset, 0 at 0 and 1 at 1, monotonic
    frown = [c.evaluate(inputs(AU04=a))[names.index("frown")] for a in np.linspace(0, 1, 21)]
    assert frown[0] == pytest.approx(0.0, abs=1e-12) and frown[-1] == pytest.approx(1.0)
    assert all(b >= a for a, b in pairwise(frown))
    assert frown[2] < 0.1 * 0.5 / 0.5  # slow onset: at AU04=0.1 well below linear
    assert load_rig("simple").channels[names.index("cheek_raise")].smoothing == "damped"


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"channels": []}, "no 'id'"),
        ({"id": "x y", "channels": []}, "letters, digits"),
        ({"id": "x", "channels": [{"name": "a", "from": {"notAShape": 1}}]}, "unknown inputs"),
        ({"id": "x", "channels": [{"name": "a", "from": "AU12", "curve": "cubic"}]}, "curve"),
        ({"id": "x", "channels": [{"name": "a", "from": "AU12"}, {"name": "a", "from": "AU06"}]}, "duplicate"),
        ({"id": "x", "channels": [{"name": "a", "from": "AU12", "gain": float("nan")}]}, "finite"),
        ({"id": "x", "channels": [], "bones": {"tail": "Tail"}}, "unknown bones"),
    ],
)
def test_bad_rigs_are_rejected_with_a_reason(bad: dict[str, Any], message: str) -> None:
    with pytest.raises(RigError, match=message):
        RigDefinition.from_dict(bad)


def test_round_trip_through_dict() -> None:
    rig = load_rig("simple")
    assert RigDefinition.from_dict(rig.to_dict()) == rig


def test_eye_limits_clamp_each_eye_inward_outward_up_and_down() -> None:
    # Issue 25 item 5: looking far up and right must stay inside the eye white.
    limits = EyeLimits(yaw_in=10.0, yaw_out=20.0, up=8.0, down=12.0)
    # yaw > 0 turns toward the avatar's left: outward for its left eye, inward for its right eye.
    assert limits.clamp("left_eye", 35.0, -30.0) == (20.0, -8.0)
    assert limits.clamp("right_eye", 35.0, -30.0) == (10.0, -8.0)
    assert limits.clamp("right_eye", -35.0, 30.0) == (-20.0, 12.0)
    assert limits.clamp("left_eye", 5.0, 3.0) == (5.0, 3.0)


def test_eye_limits_travel_with_the_rig_and_bad_ones_are_refused() -> None:
    rig = load_rig("simple")
    assert rig.eye_limits == EyeLimits() and "eye_limits" not in rig.to_dict()  # absent: the defaults
    custom = RigDefinition.from_dict({**rig.to_dict(), "eye_limits": {"yaw_out": 9, "up": 4, "source": "vrm1"}})
    assert (custom.eye_limits.yaw_out, custom.eye_limits.up, custom.eye_limits.source) == (9.0, 4.0, "vrm1")
    assert RigDefinition.from_dict(custom.to_dict()) == custom
    for bad, message in [
        ({"up": -1}, "0..90"),
        ({"down": "far"}, "numbers"),
        ({"look_weight_max": 2}, "0..1"),
        ({"sideways": 3}, "unknown"),
        ({"source": "guess"}, "source"),
        ([], "object"),
    ]:
        with pytest.raises(RigError, match=message):
            RigDefinition.from_dict({**rig.to_dict(), "eye_limits": bad})
