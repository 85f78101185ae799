"""A group photo of five real people for the face tests: 1000 x 667, faces about 100 px wide,
as in the issue's (issue 25, item 10). No installed package ships a real group photo, so it is
composed from real people's photos the packages do ship: scikit-image's astronaut (Eileen
Collins), matplotlib's Grace Hopper and three of scikit-image's Labeled Faces in the Wild crops,
each scaled so its face is about ``FACE_PX`` wide, side by side on a plain backdrop."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import matplotlib.cbook
import numpy as np
import numpy.typing as npt
from skimage import data

Image = npt.NDArray[np.uint8]
SIZE = (1000, 667)  # width, height
FACE_PX = 100
# Three of the Labeled Faces in the Wild crops (25 x 25, the face filling most of it).
LFW_FACES = (0, 12, 63)


@dataclass(frozen=True)
class Person:
    name: str
    centre: tuple[float, float]  # the face's centre in the group photo, pixels
    face_px: float  # about how wide the face is there


def _head(rgb: Image, face_box: tuple[int, int, int, int], face_px: float) -> tuple[Image, tuple[float, float]]:
    """The photo around a face (its box x0, y0, x1, y1), scaled so the face is ``face_px``
    wide; and the face's centre in that crop."""
    x0, y0, x1, y1 = face_box
    w, h = x1 - x0, y1 - y0
    left, top = max(0, x0 - w // 2), max(0, y0 - h // 2)
    crop = rgb[top : min(rgb.shape[0], y1 + h // 2), left : min(rgb.shape[1], x1 + w // 2)]
    scale = face_px / w
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    scaled = np.asarray(cv2.resize(crop, None, fx=scale, fy=scale, interpolation=interpolation), np.uint8)
    return scaled, ((x0 + w / 2 - left) * scale, (y0 + h / 2 - top) * scale)


def _sources() -> list[tuple[str, Image, tuple[int, int, int, int]]]:
    hopper_path = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    bgr = cv2.imread(str(hopper_path), cv2.IMREAD_COLOR)
    assert bgr is not None, hopper_path
    hopper = np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), np.uint8)
    lfw = data.lfw_subset()
    faces = [
        ("astronaut", np.ascontiguousarray(data.astronaut()), (181, 72, 270, 177)),
        ("grace_hopper", hopper, (170, 132, 355, 335)),
    ]
    for i in LFW_FACES:
        grey = (lfw[i] * 255).astype(np.uint8)
        faces.append((f"lfw_{i}", np.dstack([grey] * 3), (3, 2, 22, 24)))
    return faces


def group_photo(faces_px: tuple[float, ...] = (FACE_PX,) * 5) -> tuple[Image, list[Person]]:
    """The photo (RGB) and where each face is: the first ``len(faces_px)`` people (astronaut,
    Grace Hopper, three LFW faces), side by side, each face about as wide as given."""
    width, height = SIZE
    photo = np.full((height, width, 3), (96, 104, 112), np.uint8)
    people: list[Person] = []
    n = len(faces_px)
    for k, ((name, rgb, box), face_px) in enumerate(zip(_sources(), faces_px, strict=False)):
        head, (cx, cy) = _head(rgb, box, face_px)
        at_x, at_y = int(width * (k + 0.5) / n - cx), int(height * 0.4 - cy + (k % 2) * 60)
        h, w = head.shape[:2]
        ys, xs = slice(max(0, at_y), min(height, at_y + h)), slice(max(0, at_x), min(width, at_x + w))
        photo[ys, xs] = head[ys.start - at_y : ys.stop - at_y, xs.start - at_x : xs.stop - at_x]
        people.append(Person(name, (at_x + cx, at_y + cy), face_px))
    return photo, people
