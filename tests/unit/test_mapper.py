import numpy as np
import numpy.typing as npt
import pytest

from avatar_mapping.avatar_frame import AvatarFrame
from avatar_mapping.features import EyeGaze, FaceFeatures, HeadPose
from avatar_mapping.mapper import AvatarMapper
from avatar_mapping.rotation import quat_multiply
from avatar_mapping.vocabulary import ARKIT_INDEX
from tests.support.rigs import load_rig

DT = 1 / 60


def smiling(capture_ms: int = 0, smile: float = 0.8, yaw: float = 20.0) -> FaceFeatures:
    b = np.zeros(52)
    b[ARKIT_INDEX["mouthSmileLeft"]] = b[ARKIT_INDEX["mouthSmileRight"]] = smile
    return FaceFeatures.from_blendshapes(
        b,
        capture_ms,
        head=HeadPose(yaw, 0.0, 0.0),
        confidence=1.0,
        left_eye=EyeGaze(5.0, 0.0),
        right_eye=EyeGaze(5.0, 0.0),
    )


def run(mapper: AvatarMapper, features: FaceFeatures, seconds: float) -> list[AvatarFrame]:
    frames: list[AvatarFrame] = []
    for _ in range(int(seconds / DT)):
        frames.append(mapper.step(features, DT))
    return frames


def test_converges_to_the_mapped_face_and_splits_head_rotation() -> None:
    m = AvatarMapper(load_rig("simple"))
    f = run(m, smiling(), 1.0)[-1]
    assert f.weights_by_name()["smile"] == pytest.approx(0.88, abs=0.01)
    assert f.head_yaw_deg == pytest.approx(20.0, abs=0.2)
    rot = f.rotations_by_bone()
    recomposed = quat_multiply(np.array(rot["neck"]), np.array(rot["head"]))
    from avatar_mapping.rotation import quat_from_euler

    assert np.allclose(recomposed, quat_from_euler(f.head_yaw_deg, f.head_pitch_deg, f.head_roll_deg), atol=1e-9)
    assert rot["left_eye"][1] > 0  # gaze toward the subject's left is a +Y rotation


def test_lost_face_holds_briefly_then_eases_to_rest_without_snapping() -> None:
    m = AvatarMapper(load_rig("simple"))
    run(m, smiling(), 1.0)
    absent = FaceFeatures.absent(1000)
    frames = run(m, absent, 2.0)
    smiles = np.array([f.weights_by_name()["smile"] for f in frames])
    assert smiles[int(0.2 / DT)] > 0.8  # held during the grace period
    assert np.max(np.abs(np.diff(smiles))) < 0.08  # no snap between frames
    assert smiles[-1] < 0.02 and abs(frames[-1].head_yaw_deg) < 0.5  # back at rest
    assert not frames[-1].face_present


def test_same_inputs_same_output() -> None:
    a, b = AvatarMapper(load_rig("arkit52")), AvatarMapper(load_rig("arkit52"))
    for i in range(30):
        f = smiling(i * 33, smile=0.5 + 0.3 * np.sin(i))
        fa, fb = a.step(f, DT), b.step(f, DT)
        assert np.array_equal(fa.weights, fb.weights) and np.array_equal(fa.rotations, fb.rotations)


def test_jitter_on_a_still_face_is_below_five_percent() -> None:
    rng = np.random.default_rng(1)
    m = AvatarMapper(load_rig("arkit52"))
    base = smiling(smile=0.5).blendshapes
    outs: list[npt.NDArray[np.float64]] = []
    for i in range(300):
        noisy = np.clip(base + rng.normal(0, 0.03, 52), 0, 1)
        outs.append(m.step(FaceFeatures.from_blendshapes(noisy, i * 16), DT).weights)
    settled = np.array(outs[60:])
    jitter_pct = 100 * np.mean(np.abs(np.diff(settled, axis=0)))  # channel range is 0..1
    assert jitter_pct < 5.0


def test_head_is_extrapolated_along_its_velocity_but_capped() -> None:
    m = AvatarMapper(load_rig("arkit52"))
    m.step(smiling(0, yaw=0.0), DT)
    m.step(smiling(100, yaw=10.0), DT)  # 100 deg/s
    fresh = AvatarMapper(load_rig("arkit52"))
    fresh.step(smiling(0, yaw=0.0), DT)
    fresh.step(smiling(100, yaw=10.0), DT)
    ahead = m.step(smiling(100, yaw=10.0), DT, age_s=0.05).head_yaw_deg
    now = fresh.step(smiling(100, yaw=10.0), DT, age_s=0.0).head_yaw_deg
    assert ahead > now
    capped = AvatarMapper(load_rig("arkit52"))
    capped.step(smiling(0, yaw=0.0), DT)
    capped.step(smiling(100, yaw=10.0), DT)
    far = capped.step(smiling(100, yaw=10.0), DT, age_s=5.0).head_yaw_deg
    assert far <= 10.0 + 100 * 0.1 + 1e-6


def test_rig_without_neck_gives_head_the_whole_rotation() -> None:
    rig = load_rig("arkit52")
    from dataclasses import replace

    rig = replace(rig, bones={"head": "Head"})
    f = run(AvatarMapper(rig), smiling(yaw=30.0), 1.0)[-1]
    assert f.bones == ("head",)
    from avatar_mapping.rotation import quat_from_euler

    assert np.allclose(f.rotations[0], quat_from_euler(f.head_yaw_deg, f.head_pitch_deg, f.head_roll_deg))


def test_voice_moves_the_mouth_without_a_face() -> None:
    from dataclasses import replace

    from avatar_mapping.vocabulary import VISEME_INDEX
    from avatar_mapping.voice_features import VoiceFeatures

    rig = load_rig("arkit52")
    rig = replace(
        rig,
        channels=rig.channels
        + (type(rig.channels[0])(name="viseme_aa", sources={"viseme_aa": 1.0}, smoothing="visemes"),),
    )
    m = AvatarMapper(rig)
    v = np.zeros(15)
    v[VISEME_INDEX["aa"]] = 1.0
    voice = VoiceFeatures(True, 0, speaking_probability=0.9, visemes=v, viseme_conf=0.8)
    frames = [m.step(FaceFeatures.absent(i * 16), DT, voice=voice) for i in range(30)]
    last = frames[-1]
    assert not last.face_present and last.viseme == "aa" and last.weights_by_name()["viseme_aa"] > 0.9
    assert last.weights_by_name()["mouthSmileLeft"] == 0.0  # no face: the face channels rest


def test_eyes_turn_no_further_than_the_rigs_eye_range() -> None:
    """Looking far up and right turned VRoid's irises out of sight: the eye bones stay within
    the rig's `eye_limits` (its VRM lookAt, or the defaults), for every client of the stream."""
    from dataclasses import replace

    from avatar_mapping.rig import EyeLimits
    from avatar_mapping.rotation import euler_from_matrix, quat_to_matrix

    rig = replace(load_rig("simple"), eye_limits=EyeLimits(yaw_in=8.0, yaw_out=10.0, up=6.0, down=9.0))
    far = replace(smiling(yaw=0.0), left_eye=EyeGaze(-35.0, -30.0), right_eye=EyeGaze(-35.0, -30.0))
    rot = run(AvatarMapper(rig), far, 1.0)[-1].rotations_by_bone()
    left_yaw, left_pitch, _ = euler_from_matrix(quat_to_matrix(np.array(rot["left_eye"])))
    right_yaw, right_pitch, _ = euler_from_matrix(quat_to_matrix(np.array(rot["right_eye"])))
    # toward the avatar's right: inward for its left eye, outward for its right eye; pitch < 0 is up
    assert left_yaw == pytest.approx(-8.0, abs=0.01) and right_yaw == pytest.approx(-10.0, abs=0.01)
    assert left_pitch == pytest.approx(-6.0, abs=0.01) and right_pitch == pytest.approx(-6.0, abs=0.01)
