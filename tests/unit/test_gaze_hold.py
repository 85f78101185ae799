"""Blink- and wink-aware gaze (avatar_mapping/gaze_hold.py), from a real tracked face whose
lids are closed in the measurements the way a closing lid drags MediaPipe's iris reading
down; and through the whole mapper, per-user thresholds included."""

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from avatar_mapping.face_calibration import FaceCalibration
from avatar_mapping.features import EyeGaze, FaceFeatures
from avatar_mapping.gaze_hold import GazeHold, GazeHoldOptions
from avatar_mapping.mapper import AvatarMapper, MapperOptions
from avatar_mapping.vocabulary import ARKIT_INDEX
from server.assets.rig_store import RigStore
from tests.support.media import tracked
from tests.support.paths import REPO


@pytest.fixture(scope="module")
def real_face(model_path: Path, resting_face: npt.NDArray[np.uint8]) -> FaceFeatures:
    face = tracked(model_path, resting_face)
    assert face.present
    return face


def closing(face: FaceFeatures, t_ms: int, left: float, right: float, drift_deg: float = 12.0) -> FaceFeatures:
    """The face with its lids closed this much, the gaze dragged down with each lid."""
    b = face.blendshapes.copy()
    b[ARKIT_INDEX["eyeBlinkLeft"]], b[ARKIT_INDEX["eyeBlinkRight"]] = left, right

    def drag(g: EyeGaze, c: float) -> EyeGaze:
        return EyeGaze(g.yaw_deg, g.pitch_deg + drift_deg * c)  # (pitch + = down)

    return replace(
        face, capture_ms=t_ms, blendshapes=b, left_eye=drag(face.left_eye, left), right_eye=drag(face.right_eye, right)
    )


def test_a_blink_holds_each_eyes_open_gaze_and_lets_go_when_it_opens(real_face: FaceFeatures) -> None:
    hold = GazeHold()
    lids = [0.0, 0.2, 0.5, 0.9, 1.0, 0.9, 0.5, 0.2, 0.0]
    out = [hold.apply(closing(real_face, i * 33, c, c)) for i, c in enumerate(lids)]
    open_pitch = real_face.left_eye.pitch_deg
    for c, f in zip(lids, out, strict=True):
        if c >= 0.5:  # closed: what the eye saw before it closed
            assert f.left_eye.pitch_deg == pytest.approx(real_face.left_eye.pitch_deg + 12.0 * 0.2)
            assert f.right_eye.pitch_deg == pytest.approx(real_face.right_eye.pitch_deg + 12.0 * 0.2)
    assert out[-1].left_eye.pitch_deg == pytest.approx(open_pitch)  # open again: the live reading
    assert max(f.left_eye.pitch_deg for f in out) <= open_pitch + 12.0 * 0.2 + 1e-9  # never dragged down by a lid


def test_a_wink_drives_both_eyes_from_the_open_one_unless_asked_not_to(real_face: FaceFeatures) -> None:
    looking = replace(real_face, right_eye=EyeGaze(15.0, -3.0), left_eye=EyeGaze(15.0, -3.0))
    wink = closing(looking, 0, 1.0, 0.0)
    shared = GazeHold().apply(wink)
    assert shared.left_eye == shared.right_eye == EyeGaze(15.0, -3.0)
    own = GazeHold(GazeHoldOptions(wink_follows_open_eye=False)).apply(wink)
    assert own.left_eye == wink.left_eye  # never seen open: its own reading is all there is


def test_the_mapper_holds_the_eye_bones_through_a_blink_and_thresholds_are_per_user(real_face: FaceFeatures) -> None:
    rig = RigStore.from_dir(REPO / "rigs").get("arkit52")
    assert rig is not None

    def eye_pitch_during_blink(mapper: AvatarMapper, lid: float) -> float:
        mapper.step(closing(real_face, 0, 0.0, 0.0), 1 / 30)
        for i in range(1, 40):
            frame = mapper.step(closing(real_face, i * 33, lid, lid, drift_deg=20.0), 1 / 30)
        return float(frame.rotations_by_bone()["left_eye"][0])  # x: pitch

    open_x = float(AvatarMapper(rig).step(closing(real_face, 0, 0.0, 0.0), 1 / 30).rotations_by_bone()["left_eye"][0])
    held = eye_pitch_during_blink(AvatarMapper(rig), 0.8)
    raw = eye_pitch_during_blink(AvatarMapper(rig, MapperOptions(gaze_hold=None)), 0.8)
    assert abs(held - open_x) < 0.01 < abs(raw - open_x)
    # Hooded eyes: this user's lids rest at 0.45 and close at 0.95 (the calibration's eyes-closed
    # step); 0.6 is still open for them (calibrated 0.3), so their gaze is followed, not held.
    hooded = FaceCalibration(blink_open=(0.45, 0.45), blink_closed=(0.95, 0.95))
    followed = eye_pitch_during_blink(AvatarMapper(rig, calibration=hooded), 0.6)
    default_user = eye_pitch_during_blink(AvatarMapper(rig), 0.6)
    assert abs(followed - open_x) > 0.01 and abs(default_user - open_x) < 0.01
    np.testing.assert_allclose(eye_pitch_during_blink(AvatarMapper(rig), 0.8), held)  # deterministic


def test_in_real_frames_closing_lids_drag_the_gaze_down_and_the_mapper_holds_it(model_path: Path) -> None:
    """A clip of the astronaut's photo whose lids close and open again (tests/support/face_warps.py),
    through the real tracker: MediaPipe's gaze drops as the lids close (what the hold is for).
    With this user's calibrated lids (open and closed levels measured from the same clip, as
    the wizard's neutral and eyes-closed steps do) the mapper's eye bones keep the open gaze;
    without the hold they follow the drop."""
    from server.inference.face import FaceTracker, FaceTrackerOptions
    from server.inference.input_frame import Frame
    from tests.support.face_warps import WarpedFace

    warped = WarpedFace(model_path)
    strengths = [0.0] * 10 + [0.35, 0.7, 1.0] + [1.0] * 6 + [0.7, 0.35] + [0.0] * 10
    faces, t = [], 0
    with FaceTracker(FaceTrackerOptions(model_path, mode="video")) as tracker:
        for s in strengths:
            faces.append(tracker.process(Frame(np.ascontiguousarray(warped.blink(s)), t)))
            t += 33
    assert all(f.present for f in faces)
    closed = [i for i, s in enumerate(strengths) if s == 1.0]
    pitch = [(f.left_eye.pitch_deg + f.right_eye.pitch_deg) / 2 for f in faces]
    assert np.mean([pitch[i] for i in closed]) > np.mean(pitch[:10]) + 5  # MediaPipe's drop (pitch + = down)

    def lids(idx: Iterable[int]) -> tuple[float, float]:
        left, right = (
            float(np.median([faces[i].blendshapes[ARKIT_INDEX[f"eyeBlink{side}"]] for i in idx]))
            for side in ("Left", "Right")
        )
        return left, right

    user = FaceCalibration(blink_open=lids(range(10)), blink_closed=lids(closed))
    rig = RigStore.from_dir(REPO / "rigs").get("arkit52")
    assert rig is not None

    def eye_pitch(options: MapperOptions) -> list[float]:
        mapper = AvatarMapper(rig, options, calibration=user)
        return [float(mapper.step(f, 1 / 30).rotations_by_bone()["left_eye"][0]) for f in faces]

    held, raw = eye_pitch(MapperOptions()), eye_pitch(MapperOptions(gaze_hold=None))
    before = np.mean(held[5:10])
    moved_held, moved_raw = (max(abs(x[i] - before) for i in closed) for x in (held, raw))
    assert moved_held < 0.5 * moved_raw and moved_held < np.radians(2.5)  # measured 1.4° vs 4.4°
    assert abs(held[-1] - raw[-1]) < 0.01  # the lids open again: the gaze is followed again
