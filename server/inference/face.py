"""MediaPipe FaceLandmarker -> FaceFeatures. The only module that touches mediapipe types.

One FaceTracker per session in VIDEO mode (it tracks between frames and needs
monotonic timestamps), or in IMAGE mode for stills. Calls are blocking: the server
runs them in a worker thread, never on the event loop.

Several people: up to ``max_faces`` faces are found in a frame (one for a live session) and the
largest is tracked (``faces_seen`` says how many there were; tracking each person is its own
issue). MediaPipe's detector is short-range: on a whole 1000 px group photo it misses faces
under ~15 % of the image's width, so a still is searched again in overlapping square tiles
(``small_face_tiles``), each face found in a tile mapped back to the whole image.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import mediapipe as mp
import numpy as np
from mediapipe.tasks.python import BaseOptions, vision

from avatar_mapping import geometric_channels
from avatar_mapping.action_units import action_units
from avatar_mapping.features import FaceFeatures, HeadPose
from avatar_mapping.rotation import euler_from_matrix
from avatar_mapping.vocabulary import ARKIT_INDEX

from .face_emotion import FaceEmotionClassifier, FaceEmotionOptions
from .gaze import GazeWeights, eye_gaze
from .input_frame import Frame
from .landmark_measures import landmarks_3d, measure
from .native_stderr import native_stderr_to_log

log = logging.getLogger(__name__)
# Faces narrower than this (pixels) are tracked with reduced confidence.
MIN_RELIABLE_FACE_PX = 80.0


@dataclass(frozen=True)
class FaceTrackerOptions:
    model_path: Path
    mode: Literal["video", "image"] = "video"
    # Mirror the features (left/right swapped, yaw and roll negated) for selfie-style avatars.
    mirror: bool = False
    min_detection_confidence: float = 0.5
    min_presence_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    gaze: GazeWeights = field(default_factory=GazeWeights)
    # The face-emotion CNN (ONNX); None: no classifier, emotion from the AU prototypes only.
    emotion_model: Path | None = None
    # Run the CNN at most this often (capture time, ms) and keep its scores in between: emotion
    # is reported at the emotion rate (10 Hz), so classifying every frame of a 30 fps camera
    # costs ~0.8 ms a frame for nothing. 0: every frame (offline analysis).
    emotion_interval_ms: float = 0.0
    # Estimate cheekPuff, cheekSquint* and noseSneer* from the landmarks as well, against the
    # person's neutral learnt in video mode (avatar_mapping/geometric_channels.py; images: never).
    geometric_channels: bool = True
    # Faces looked for in a frame (the largest is tracked; the rest are only counted). A live
    # session looks for one: with more, MediaPipe runs its detector on every frame that has
    # fewer faces than this (`analyze` looks for 5).
    max_faces: int = 1
    # Stills: also search tiles this fraction of the image's longer side (0: no tiles), so
    # that faces too small for the detector on the whole image are found.
    small_face_tiles: float = 0.4


@dataclass(frozen=True, eq=False)
class _Face:
    """One face MediaPipe found: landmarks normalised to the whole frame (x, y; z on x's scale),
    its blendshape scores by name and its facial transformation matrix."""

    landmarks: np.ndarray  # (478, 3)
    scores: dict[str, float]
    matrix: np.ndarray  # (4, 4)

    def box(self, width: int, height: int) -> tuple[float, float, float, float]:
        """x0, y0, x1, y1 in pixels."""
        x, y = self.landmarks[:, 0] * width, self.landmarks[:, 1] * height
        return float(x.min()), float(y.min()), float(x.max()), float(y.max())

    def width_px(self, width: int) -> float:
        return float(np.ptp(self.landmarks[:, 0])) * width


class FaceTracker:
    def __init__(self, options: FaceTrackerOptions):
        self.options = options
        running_mode = vision.RunningMode.VIDEO if options.mode == "video" else vision.RunningMode.IMAGE
        with native_stderr_to_log():  # MediaPipe's start-up lines go to the log, not the terminal
            self._landmarker = vision.FaceLandmarker.create_from_options(
                vision.FaceLandmarkerOptions(
                    base_options=BaseOptions(model_asset_path=str(options.model_path)),
                    running_mode=running_mode,
                    num_faces=max(1, options.max_faces),
                    min_face_detection_confidence=options.min_detection_confidence,
                    min_face_presence_confidence=options.min_presence_confidence,
                    min_tracking_confidence=options.min_tracking_confidence,
                    output_face_blendshapes=True,
                    output_facial_transformation_matrixes=True,
                )
            )
        self._last_timestamp_ms = -1
        self._emotion = (
            FaceEmotionClassifier(FaceEmotionOptions(options.emotion_model))
            if options.emotion_model is not None
            else None
        )
        self._emotion_scores: np.ndarray | None = None
        self._emotion_at_ms = -math.inf
        # The person's neutral face shape, learnt while a video is tracked. A still has none to
        # compare with: the shape estimates need a video.
        self._neutral = (
            geometric_channels.NeutralTracker() if options.mode == "video" and options.geometric_channels else None
        )
        self._neutral_at_ms: float | None = None
        # How many faces the last frame had (the largest is the one tracked).
        self.faces_seen = 0

    def process(self, frame: Frame) -> FaceFeatures:
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=frame.rgb)
        if self.options.mode == "video":
            # MediaPipe rejects timestamps that do not increase; client clocks may repeat.
            ts = max(int(frame.capture_ms), self._last_timestamp_ms + 1)
            self._last_timestamp_ms = ts
            faces = _faces(self._landmarker.detect_for_video(image, ts))
        else:
            faces = _faces(self._landmarker.detect(image))
            if self.options.small_face_tiles > 0:
                faces = _distinct(faces + self._tiled(frame), frame.width, frame.height)
        self.faces_seen = len(faces)
        face = max(faces, key=lambda f: f.width_px(frame.width)) if faces else None
        due = frame.capture_ms - self._emotion_at_ms >= self.options.emotion_interval_ms
        features = replace(
            _to_features(face, frame, self.options.gaze, self._emotion if due else None), faces_seen=len(faces)
        )
        if features.present and self._emotion is not None:
            if due:
                self._emotion_scores, self._emotion_at_ms = features.emotion_scores, frame.capture_ms
            else:  # between two runs of the CNN: its last scores
                features = replace(features, emotion_scores=self._emotion_scores)
        elif not features.present:
            self._emotion_at_ms = -math.inf  # a face that comes back is classified at once
        if face is not None and features.present and self._neutral is not None:
            features = self._with_geometry(features, face, frame, self._neutral)
        return features.mirror() if self.options.mirror and features.present else features

    def _tiled(self, frame: Frame) -> list[_Face]:
        """The faces of overlapping square tiles of a still, in whole-frame coordinates; a face
        cut by its tile's edge is left to the tile that holds it whole."""
        found: list[_Face] = []
        for x0, y0, side in _tiles(frame.width, frame.height, self.options.small_face_tiles):
            crop = np.ascontiguousarray(frame.rgb[y0 : y0 + side, x0 : x0 + side])
            h, w = crop.shape[:2]
            for face in _faces(self._landmarker.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=crop))):
                xy = face.landmarks[:, :2]
                if (xy <= 0.0).any() or (xy >= 1.0).any():
                    continue
                landmarks = face.landmarks * (w, h, w) + (x0, y0, 0.0)
                found.append(replace(face, landmarks=landmarks / (frame.width, frame.height, frame.width)))
        return found

    def _with_geometry(
        self,
        features: FaceFeatures,
        face: _Face,
        frame: Frame,
        tracker: geometric_channels.NeutralTracker,
    ) -> FaceFeatures:
        measures = measure(landmarks_3d(face.landmarks, frame.width, frame.height))
        dt_s = 0.0 if self._neutral_at_ms is None else (frame.capture_ms - self._neutral_at_ms) / 1000.0
        self._neutral_at_ms = frame.capture_ms
        neutral = tracker.update(measures, dt_s)
        blendshapes = geometric_channels.blend(features.blendshapes, geometric_channels.estimate(measures, neutral))
        return replace(features, blendshapes=blendshapes, action_units=action_units(blendshapes))

    def close(self) -> None:
        self._landmarker.close()

    def __enter__(self) -> FaceTracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _faces(result: vision.FaceLandmarkerResult) -> list[_Face]:
    faces = []
    for landmarks, categories, matrix in zip(
        result.face_landmarks, result.face_blendshapes, result.facial_transformation_matrixes, strict=False
    ):
        faces.append(
            _Face(
                np.array([(p.x, p.y, p.z) for p in landmarks], dtype=np.float64),
                {c.category_name: c.score for c in categories},
                np.asarray(matrix, dtype=np.float64),
            )
        )
    return faces


def _tiles(width: int, height: int, fraction: float) -> list[tuple[int, int, int]]:
    """Square tiles (x0, y0, side) of ``fraction`` of the longer side, overlapping by half, so
    that every face up to half a tile wide lies whole in one of them. None when a tile would
    cover most of the image (the whole-image pass already saw it at that scale)."""
    side = int(round(fraction * max(width, height)))
    if side < 64 or side > 0.8 * min(width, height):
        return []
    step = side // 2

    def starts(extent: int) -> list[int]:
        last = extent - side
        return sorted({*range(0, last, step), last})

    return [(x0, y0, side) for y0 in starts(height) for x0 in starts(width)]


def _distinct(faces: list[_Face], width: int, height: int) -> list[_Face]:
    """One entry per person, the first found kept (the whole image's before the tiles': a
    crop's perspective shifts the head pose a little): a face found again is the same face
    when their boxes overlap by more than half of the smaller one."""
    kept: list[_Face] = []
    for face in faces:
        if not any(_overlap(face.box(width, height), k.box(width, height)) > 0.5 for k in kept):
            kept.append(face)
    return kept


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """The intersection's area over the smaller box's."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return w * h / smaller if smaller > 0 else 1.0


def _to_features(
    face: _Face | None, frame: Frame, gaze: GazeWeights, emotion: FaceEmotionClassifier | None = None
) -> FaceFeatures:
    if face is None:
        return FaceFeatures.absent(frame.capture_ms)
    blendshapes = np.zeros(len(ARKIT_INDEX))
    for name, score in face.scores.items():
        i = ARKIT_INDEX.get(name)
        if i is not None:
            blendshapes[i] = score
    blendshapes = np.clip(blendshapes, 0.0, 1.0)
    normalized = face.landmarks[:, :2]
    pixels = normalized * (frame.width, frame.height)
    matrix = face.matrix
    yaw, pitch, roll = euler_from_matrix(matrix[:3, :3])
    left, right = eye_gaze(pixels, blendshapes, gaze)
    return FaceFeatures(
        present=True,
        capture_ms=frame.capture_ms,
        confidence=_confidence(normalized, pixels),
        blendshapes=blendshapes,
        action_units=action_units(blendshapes),
        head=HeadPose(yaw, pitch, roll, (float(matrix[0, 3]), float(matrix[1, 3]), float(matrix[2, 3]))),
        left_eye=left,
        right_eye=right,
        emotion_scores=emotion.classify(frame.rgb, pixels) if emotion is not None else None,
    )


def _confidence(normalized: np.ndarray, pixels: np.ndarray) -> float:
    """MediaPipe exposes no per-face score: use the share of landmarks inside the image,
    reduced for faces too small to track reliably."""
    inside = np.mean((normalized >= 0.0).all(axis=1) & (normalized <= 1.0).all(axis=1))
    width_px = float(np.ptp(pixels[:, 0]))
    return float(inside * min(1.0, width_px / MIN_RELIABLE_FACE_PX))
