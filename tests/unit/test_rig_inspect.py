"""`rig inspect` on the real third-party avatars and on VRM files the tests build."""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pygltflib
import pytest

from avatar_mapping.rig import EyeLimits
from avatar_mapping.vocabulary import ARKIT_BLENDSHAPES
from server.assets.rig_inspect import RigInspectError, inspect_bytes, inspect_file


def test_ready_player_me_maps_everything(avatars: Path) -> None:
    rig = inspect_file(avatars / "brunette-t.glb")
    r = rig.report
    assert r["arkit"]["mapped"] == 52 and r["visemes"]["mapped"] == 15
    assert {"head": "Head", "neck": "Neck", "left_eye": "LeftEye", "right_eye": "RightEye"}.items() <= r["bones"][
        "mapped"
    ].items()
    by_name = {c.name: c for c in rig.channels}
    # one channel drives the same-named target on head, teeth and both eye meshes
    assert {t.mesh for t in by_name["jawOpen"].targets} >= {"Wolf3D_Head", "Wolf3D_Teeth"}
    assert by_name["viseme_aa"].sources == {"viseme_aa": 1.0}
    assert set(ARKIT_BLENDSHAPES) <= set(by_name)
    assert r["zero_delta_targets"] == ["viseme_sil"]  # the silence viseme is, rightly, no shape at all
    assert r["unmapped_targets"] == []


def test_vroid_maps_its_presets_and_bones_through_meshopt(avatars: Path) -> None:
    rig = inspect_file(avatars / "vroid.glb")
    r = rig.report
    assert {"Fcl_ALL_Joy", "Fcl_ALL_Angry", "Fcl_ALL_Sorrow", "Fcl_ALL_Fun", "Fcl_ALL_Surprised"} <= set(
        r["expressions"]
    )
    by_name = {c.name: c for c in rig.channels}
    assert by_name["Fcl_ALL_Joy"].sources["preset_happy"] == 1.0
    assert {"head", "neck", "left_eye", "right_eye"} <= set(r["bones"]["mapped"])
    # Decoded from EXT_meshopt_compression: VRoid's own jawOpen target is empty, so the
    # jaw opens through its Fcl_MTH_A vowel instead.
    assert "jawOpen" in r["zero_delta_targets"] and "jawOpen" not in by_name
    assert by_name["Fcl_MTH_A"].sources == {"jawOpen": 0.8}
    assert "mouthSmileLeft" in by_name and "mouthSmileLeft" not in r["zero_delta_targets"]


def _mesh_gltf(
    names: Sequence[str],
    deltas: Sequence[float],
    extensions: dict[str, Any] | None = None,
    node_names: Sequence[str] = ("Head",),
) -> bytes:
    """A one-triangle mesh with morph targets `names` (delta per target) and optional extensions."""
    positions = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], np.float32)
    blobs = [positions.tobytes()] + [np.full((3, 3), d, np.float32).tobytes() for d in deltas]
    data = b"".join(blobs)
    views = [pygltflib.BufferView(buffer=0, byteOffset=36 * i, byteLength=36) for i in range(len(blobs))]
    accessors = [pygltflib.Accessor(bufferView=i, componentType=5126, count=3, type="VEC3") for i in range(len(blobs))]
    prim = pygltflib.Primitive(
        attributes=pygltflib.Attributes(POSITION=0), targets=[{"POSITION": i + 1} for i in range(len(names))]
    )
    g = pygltflib.GLTF2(
        scene=0,
        scenes=[pygltflib.Scene(nodes=list(range(len(node_names) + 1)))],
        nodes=[pygltflib.Node(mesh=0, name="Face")] + [pygltflib.Node(name=n) for n in node_names],
        meshes=[pygltflib.Mesh(name="Face", primitives=[prim], extras={"targetNames": list(names)})],
        buffers=[pygltflib.Buffer(byteLength=len(data))],
        bufferViews=views,
        accessors=accessors,
        extensions=extensions or {},
    )
    g.set_binary_blob(data)
    return b"".join(g.save_to_bytes())


def test_vrm0_blendshape_master_and_humanoid() -> None:
    vrm = {
        "VRM": {
            "blendShapeMaster": {
                "blendShapeGroups": [
                    {"name": "Joy", "presetName": "joy", "binds": [{"mesh": 0, "index": 0, "weight": 100}]},
                    {"name": "A", "presetName": "a", "binds": [{"mesh": 0, "index": 1, "weight": 50}]},
                    {"name": "Blink", "presetName": "blink", "binds": [{"mesh": 0, "index": 2, "weight": 100}]},
                ]
            },
            "humanoid": {"humanBones": [{"bone": "head", "node": 1}, {"bone": "neck", "node": 2}]},
        }
    }
    data = _mesh_gltf(["smile_shape", "mouth_a", "eyes_closed"], [0.1, 0.2, 0.3], vrm, ("J_Bip_C_Head", "J_Bip_C_Neck"))
    rig = inspect_bytes(data, "vrm0")
    by_name = {c.name: c for c in rig.channels}
    assert by_name["joy"].sources == {"preset_happy": 1.0, "AU12": 0.7, "AU06": 0.3}
    assert by_name["a"].targets[0].weight == 0.5 and by_name["a"].sources == {"viseme_aa": 1.0, "jawOpen": 0.8}
    assert by_name["blink"].sources == {"eyeBlinkLeft": 0.5, "eyeBlinkRight": 0.5}
    assert rig.bones == {"head": "J_Bip_C_Head", "neck": "J_Bip_C_Neck"}
    assert rig.report["unmapped_targets"] == []


def test_vrm1_expressions_and_a_rig_with_only_a_few_emotion_morphs() -> None:
    vrm = {
        "VRMC_vrm": {
            "expressions": {
                "preset": {
                    "happy": {"morphTargetBinds": [{"node": 0, "index": 0, "weight": 1.0}]},
                    "sad": {"morphTargetBinds": [{"node": 0, "index": 1, "weight": 1.0}]},
                }
            },
            "humanoid": {"humanBones": {"head": {"node": 1}}},
        }
    }
    rig = inspect_bytes(_mesh_gltf(["a", "b"], [0.1, 0.1], vrm), "vrm1")
    assert {c.name for c in rig.channels} == {"happy", "sad"} and rig.bones["head"] == "Head"
    plain = inspect_bytes(_mesh_gltf(["happy", "blink", "zero"], [0.1, 0.1, 0.0]), "few")
    assert {c.name for c in plain.channels} == {"happy", "blink"}
    assert plain.report["zero_delta_targets"] == ["zero"]


def test_vroid_eyes_looking_up_right_stay_inside_the_eye(avatars: Path) -> None:
    # Issue 25 item 5: the VRoid file has no VRM lookAt ranges, so it gets the conservative
    # defaults, and a gaze far up and to the right (30 degrees each) is clamped to them.
    rig = inspect_file(avatars / "vroid.glb")
    limits = rig.eye_limits
    assert limits == EyeLimits() and rig.report["eye_limits"] == {"source": "default", "ignored": []}
    assert rig.to_dict()["bones"]["left_eye"] == "LeftEye"
    # Up is pitch < 0; the avatar's right is yaw < 0 (inward for its left eye, outward for its right).
    left, right = limits.clamp("left_eye", -30.0, -30.0), limits.clamp("right_eye", -30.0, -30.0)
    assert left == (-limits.yaw_in, -limits.up) and right == (-limits.yaw_out, -limits.up)
    assert max(limits.yaw_in, limits.yaw_out, limits.up) <= 15.0 and limits.look_weight_max <= 0.5


def test_vrm_look_at_ranges_become_the_rigs_eye_limits() -> None:
    vrm0 = {
        "VRM": {
            "firstPerson": {
                "lookAtTypeName": "Bone",
                "lookAtHorizontalInner": {"xRange": 90, "yRange": 8},
                "lookAtHorizontalOuter": {"xRange": 90, "yRange": 12},
                "lookAtVerticalDown": {"xRange": 90, "yRange": 10},
                "lookAtVerticalUp": {"xRange": 90, "yRange": "far"},  # unusable: keeps its default
            },
            "blendShapeMaster": {"blendShapeGroups": [{"presetName": "joy", "binds": [{"mesh": 0, "index": 0}]}]},
        }
    }
    rig = inspect_bytes(_mesh_gltf(["smile"], [0.1], vrm0), "vrm0")
    assert (rig.eye_limits.yaw_in, rig.eye_limits.yaw_out, rig.eye_limits.down) == (8.0, 12.0, 10.0)
    assert rig.eye_limits.up == EyeLimits().up and rig.eye_limits.source == "vrm0"
    assert rig.report["eye_limits"]["ignored"] == ["vrm0 up yRange='far'"]
    vrm1 = {
        "VRMC_vrm": {
            "lookAt": {
                "type": "bone",
                "rangeMapHorizontalInner": {"inputMaxValue": 90, "outputScale": 9},
                "rangeMapHorizontalOuter": {"inputMaxValue": 90, "outputScale": 16},
                "rangeMapVerticalDown": {"inputMaxValue": 90, "outputScale": 11},
                "rangeMapVerticalUp": {"inputMaxValue": 90, "outputScale": 7},
            },
            "expressions": {"preset": {"happy": {"morphTargetBinds": [{"node": 0, "index": 0}]}}},
        }
    }
    limits = inspect_bytes(_mesh_gltf(["a"], [0.1], vrm1), "vrm1").eye_limits
    assert (limits.yaw_in, limits.yaw_out, limits.down, limits.up, limits.source) == (9.0, 16.0, 11.0, 7.0, "vrm1")
    ranges = {f"rangeMap{d}": {"inputMaxValue": 90, "outputScale": 0.7} for d in ("HorizontalOuter", "VerticalUp")}
    vrm1["VRMC_vrm"]["lookAt"] = {"type": "expression", **ranges}
    limits = inspect_bytes(_mesh_gltf(["a"], [0.1], vrm1), "vrm1").eye_limits
    assert limits.look_weight_max == 0.7 and limits.yaw_out == EyeLimits().yaw_out


@pytest.mark.parametrize(
    "data, message",
    [
        (b"not a model", "not a glTF file"),
        (b"glTF\x01\x00\x00\x00", "version 1"),
        (b"glTF\x02\x00\x00\x00\xff\xff", "damaged"),
        (b'{"asset": {"version": "2.0"}}', "no meshes"),
        (b"{not json", "not valid"),
    ],
)
def test_invalid_files_get_a_clear_error(data: bytes, message: str) -> None:
    with pytest.raises(RigInspectError, match=message):
        inspect_bytes(data, "x")
