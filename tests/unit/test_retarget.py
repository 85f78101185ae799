import pytest

from avatar_mapping.retarget import (
    expression_row,
    match_arkit,
    match_bones,
    match_viseme,
    normalise_bone,
    retarget_sources,
)


@pytest.mark.parametrize(
    "name, arkit",
    [
        ("mouthSmileLeft", "mouthSmileLeft"),
        ("MouthSmileLeft", "mouthSmileLeft"),
        ("mouthsmile_L", "mouthSmileLeft"),
        ("blendShape1.eyeBlinkRight", "eyeBlinkRight"),
        ("ARKit_jawOpen", "jawOpen"),
        ("Fcl_ALL_Joy", None),
        ("viseme_aa", None),
        ("smile", None),
    ],
)
def test_arkit_matching(name: str, arkit: str | None) -> None:
    assert match_arkit(name) == arkit


@pytest.mark.parametrize(
    "name, viseme",
    [
        ("viseme_aa", "aa"),
        ("viseme_sil", "sil"),
        ("Viseme_PP", "PP"),
        ("vrc.v_ch", "CH"),
        ("vrc.v_oh", "O"),
        ("mouthSmileLeft", None),
    ],
)
def test_viseme_matching(name: str, viseme: str | None) -> None:
    assert match_viseme(name) == viseme


def test_expression_aliases() -> None:
    assert expression_row("Fcl_ALL_Joy") == "happy" and expression_row("joy") == "happy"
    assert expression_row("happy") == "happy" and expression_row("Fcl_MTH_A") == "aa"
    assert expression_row("Fcl_HA_Hide") is None


def test_face_terms_drop_only_when_working_targets_show_them() -> None:
    assert retarget_sources("happy", set()) == {"preset_happy": 1.0, "AU12": 0.7, "AU06": 0.3}
    smile_works = {"mouthSmileLeft", "mouthSmileRight"}
    assert retarget_sources("happy", smile_works) == {"preset_happy": 1.0, "AU06": 0.3}
    assert retarget_sources("aa", {"viseme_aa"}) == {"jawOpen": 0.8}
    assert retarget_sources("aa", {"viseme_aa", "jawOpen"}) == {}


def test_bones_by_name_prefer_joints_and_strip_prefixes() -> None:
    assert normalise_bone("mixamorig:Head") == "head" and normalise_bone("J_Adj_L_FaceEye") == "faceeyel"
    found = match_bones(
        {0: "Hips", 1: "Spine", 2: "Spine1", 3: "Spine2", 4: "Neck", 5: "Head", 6: "LeftEye", 7: "RightEye"}
    )
    assert found == {"head": 5, "neck": 4, "left_eye": 6, "right_eye": 7, "spine": 1, "chest": 3}
