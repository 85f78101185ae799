"""The real MediaPipe model on real photos (scikit-image's bundled images)."""

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from server.inference.face import FaceTracker, FaceTrackerOptions, _tiles
from server.inference.input_frame import Frame
from tests.support.group_photo import group_photo
from tests.support.media import rotated_video

# Roll must follow a known in-plane rotation within this many degrees.
ROLL_TOLERANCE_DEG = 3.0


@pytest.fixture(scope="module")
def still(model_path: Path) -> Iterator[FaceTracker]:
    with FaceTracker(FaceTrackerOptions(model_path, mode="image")) as t:
        yield t


def stretched_half(img: npt.NDArray[np.uint8], factor: float = 1.25) -> npt.NDArray[np.uint8]:
    """Widen the image-right half of the face: the model reads it as a turned head."""
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx = w * 0.43
    mapx = np.where(xx > cx, cx + (xx - cx) / factor, xx).astype(np.float32)
    return np.ascontiguousarray(cv2.remap(img, mapx, yy, cv2.INTER_LINEAR))


def test_astronaut_smiles(still: FaceTracker, astronaut: npt.NDArray[np.uint8]) -> None:
    f = still.process(Frame(astronaut, 0))
    assert f.present and f.confidence > 0.9
    named = f.blendshapes_by_name()
    assert named["mouthSmileLeft"] > 0.5 and named["mouthSmileRight"] > 0.5
    assert f.action_units_by_name()["AU12"] > 0.5
    assert abs(f.head.yaw_deg) < 10 and abs(f.head.roll_deg) < 10
    assert f.head.translation_cm[2] < 0  # in front of the camera
    assert f.blink_left < 0.3 and f.blink_right < 0.3


def test_cat_has_no_face(still: FaceTracker, cat: npt.NDArray[np.uint8]) -> None:
    f = still.process(Frame(cat, 7))
    assert not f.present and f.capture_ms == 7 and not f.blendshapes.any()


def test_mirrored_image_flips_yaw_and_roll(still: FaceTracker, astronaut: npt.NDArray[np.uint8]) -> None:
    turned = stretched_half(astronaut)
    a = still.process(Frame(turned, 0))
    b = still.process(Frame(np.ascontiguousarray(turned[:, ::-1]), 0))
    assert abs(a.head.yaw_deg) > 3.0
    assert np.sign(b.head.yaw_deg) == -np.sign(a.head.yaw_deg)
    assert b.head.yaw_deg == pytest.approx(-a.head.yaw_deg, abs=1.5)
    assert b.head.roll_deg == pytest.approx(-a.head.roll_deg, abs=1.5)


def mouth_shifted_right(img: npt.NDArray[np.uint8], shift_px: float = 8.0) -> npt.NDArray[np.uint8]:
    """Move the mouth toward image-right: the subject's left on a non-mirrored camera."""
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = 0.436 * w, 0.275 * h  # the astronaut's mouth
    g = np.exp(-(((xx - cx) / 40) ** 2 + ((yy - cy) / 25) ** 2))
    return np.ascontiguousarray(cv2.remap(img, xx - shift_px * g, yy, cv2.INTER_LINEAR))


def test_mirror_option_swaps_sides_like_a_mirrored_camera(model_path: Path, astronaut: npt.NDArray[np.uint8]) -> None:
    shifted = mouth_shifted_right(astronaut)
    turned = stretched_half(astronaut)
    with FaceTracker(FaceTrackerOptions(model_path, mode="image")) as t:
        plain = t.process(Frame(shifted, 0)).blendshapes_by_name()
        flipped = t.process(Frame(np.ascontiguousarray(shifted[:, ::-1]), 0)).blendshapes_by_name()
        flipped_yaw = t.process(Frame(np.ascontiguousarray(turned[:, ::-1]), 0)).head.yaw_deg
    with FaceTracker(FaceTrackerOptions(model_path, mode="image", mirror=True)) as t:
        mirrored = t.process(Frame(shifted, 0))
        mirrored_yaw = t.process(Frame(turned, 0)).head.yaw_deg
    assert plain["mouthLeft"] > plain["mouthRight"] + 0.03
    assert flipped["mouthRight"] > flipped["mouthLeft"] + 0.03
    named = mirrored.blendshapes_by_name()
    assert mirrored.mirrored and named["mouthRight"] > named["mouthLeft"] + 0.03
    assert mirrored_yaw == pytest.approx(flipped_yaw, abs=1.5)


def test_video_mode_tracks_known_rotations(model_path: Path, astronaut: npt.NDArray[np.uint8]) -> None:
    """Counter-clockwise on screen tilts the head toward the subject's right shoulder: roll grows."""
    angles = np.concatenate([np.linspace(0, 20, 11), np.linspace(20, -20, 21), np.linspace(-20, 0, 11)])
    shifts = [(int(30 * np.sin(i / 5)), int(15 * np.cos(i / 7))) for i in range(len(angles))]
    rolls = []
    with FaceTracker(FaceTrackerOptions(model_path, mode="video")) as t:
        for i, frame in enumerate(rotated_video(astronaut, angles, shifts)):
            f = t.process(Frame(frame, i * 33))
            assert f.present, f"lost the face at frame {i} (angle {angles[i]:.1f})"
            rolls.append(f.head.roll_deg)
    roll = np.array(rolls)
    relative = roll - roll[0]
    assert np.max(np.abs(relative - (angles - angles[0]))) < ROLL_TOLERANCE_DEG
    assert np.corrcoef(roll, angles)[0, 1] > 0.99


def test_video_mode_accepts_repeated_timestamps(model_path: Path, astronaut: npt.NDArray[np.uint8]) -> None:
    with FaceTracker(FaceTrackerOptions(model_path, mode="video")) as t:
        assert t.process(Frame(astronaut, 100)).present
        assert t.process(Frame(astronaut, 100)).present  # same client clock value twice
        assert t.process(Frame(astronaut, 50)).present  # clock stepped back


def test_a_group_photo_of_small_faces_finds_all_five_and_says_so(model_path: Path) -> None:
    """Issue 25, item 10: five people, faces ~100 px wide in 1000 x 667. On the whole image the
    short-range detector finds nobody; the tiles find all five, and the largest is tracked."""
    photo, people = group_photo()
    with FaceTracker(FaceTrackerOptions(model_path, mode="image", max_faces=5, small_face_tiles=0.0)) as whole_only:
        assert not whole_only.process(Frame(photo, 0)).present  # why the tiles are needed
    with FaceTracker(FaceTrackerOptions(model_path, mode="image", max_faces=5)) as t:
        f = t.process(Frame(photo, 0))
        assert f.present and t.faces_seen == 5 and f.faces_seen == 5
        assert f.confidence > 0.9  # 100 px faces: above the reduced-confidence width


def test_of_two_faces_the_largest_is_tracked_and_both_are_counted(model_path: Path) -> None:
    """The astronaut smiles, Grace Hopper does not: whichever is larger drives the avatar."""
    with FaceTracker(FaceTrackerOptions(model_path, mode="image", max_faces=5)) as t:
        small_astronaut = t.process(Frame(group_photo((130.0, 220.0))[0], 0))
        assert t.faces_seen == 2 and small_astronaut.faces_seen == 2  # the features say so too
        large_astronaut = t.process(Frame(group_photo((220.0, 130.0))[0], 0))
        assert t.faces_seen == 2 and large_astronaut.faces_seen == 2
    assert small_astronaut.blendshapes_by_name()["mouthSmileLeft"] < 0.3  # Grace Hopper's face
    assert large_astronaut.blendshapes_by_name()["mouthSmileLeft"] > 0.5  # the astronaut's


def test_a_video_counts_the_faces_it_tracks(model_path: Path) -> None:
    photo = group_photo((220.0, 130.0))[0]
    with FaceTracker(FaceTrackerOptions(model_path, max_faces=5)) as t:
        for k in range(3):
            f = t.process(Frame(photo, 33 * k))
        assert f.present and t.faces_seen == 2 and f.faces_seen == 2
        assert f.blendshapes_by_name()["mouthSmileLeft"] > 0.5


def test_every_face_up_to_half_a_tile_lies_whole_in_a_tile() -> None:
    width, height = 1000, 667
    tiles = _tiles(width, height, 0.4)
    side = tiles[0][2]
    assert side == 400 and all(x0 + s <= width and y0 + s <= height for x0, y0, s in tiles)
    face = side // 2
    for x in range(0, width - face + 1, 25):
        for y in range(0, height - face + 1, 25):  # a face's box of side/2 at (x, y)
            assert any(x0 <= x and x + face <= x0 + s and y0 <= y and y + face <= y0 + s for x0, y0, s in tiles)
    assert _tiles(640, 480, 0.9) == []  # a tile nearly the whole image: the whole-image pass saw it
