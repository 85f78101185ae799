"""The product's own avatar: every ARKit and viseme channel exists and moves something."""

import pytest

from avatar_mapping.rig import RigDefinition
from avatar_mapping.vocabulary import ARKIT_BLENDSHAPES, VISEMES
from server.assets.default_avatar import build_parts, write
from server.assets.rig_inspect import inspect_file


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> RigDefinition:
    return inspect_file(write(tmp_path_factory.mktemp("avatar") / "default.glb"))


def test_every_channel_is_there_and_does_something(rig: RigDefinition) -> None:
    r = rig.report
    assert r["arkit"]["working"] == 52 and r["visemes"]["working"] == 15
    assert r["zero_delta_targets"] == [] and r["unmapped_targets"] == []
    assert {c.name for c in rig.channels} == set(ARKIT_BLENDSHAPES) | {f"viseme_{v}" for v in VISEMES}
    assert {
        "head": "Head",
        "neck": "Neck",
        "left_eye": "LeftEye",
        "right_eye": "RightEye",
        "spine": "Spine",
        "chest": "Chest",
    }.items() <= rig.bones.items()


def test_channels_move_the_part_their_name_says() -> None:
    parts = {p.name: p for ps in build_parts().values() for p in ps}

    def moved(part: str, target: str) -> float:
        d = parts[part].deltas.get(target)
        return 0.0 if d is None else float(abs(d).max())

    assert moved("EyelidsLeft", "eyeBlinkLeft") > 0.005 and moved("EyelidsRight", "eyeBlinkLeft") == 0.0
    assert moved("BrowLeft", "browDownLeft") > 0.004 and moved("BrowRight", "browDownLeft") == 0.0
    assert moved("Lips", "jawOpen") > 0.02 and moved("Head", "jawOpen") > 0.02
    assert moved("EyeLeft", "eyeLookOutLeft") > 0.003 and moved("EyeRight", "eyeLookOutLeft") == 0.0
    assert moved("Tongue", "tongueOut") > 0.01
    lips = parts["Lips"]
    left_corner = lips.positions[:, 0].argmax()  # the subject's left corner (+X)
    assert lips.deltas["mouthSmileLeft"][left_corner, 1] > 0.005  # goes up
    assert abs(lips.deltas["mouthSmileRight"][left_corner]).max() < 1e-4  # the other side stays
