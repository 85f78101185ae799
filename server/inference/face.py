"""MediaPipe FaceLandmarker -> FaceFeatures. The only module that touches mediapipe types.

One FaceTracker per session in VIDEO mode (it tracks between frames and needs
monotonic timestamps), or in IMAGE mode for stills. Calls are blocking: the server
runs them in a worker thread, never on the event loop.
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


class FaceTracker:
    def __init__(self, options: FaceTrackerOptions):
        self.options = options
        running_mode = vision.RunningMode.VIDEO if options.mode == "video" else vision.RunningMode.IMAGE
        with native_stderr_to_log():  # MediaPipe's start-up lines go to the log, not the terminal
            self._landmarker = vision.FaceLandmarker.create_from_options(
                vision.FaceLandmarkerOptions(
                    base_options=BaseOptions(model_asset_path=str(options.model_path)),
                    running_mode=running_mode,
                    num_faces=1,
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

    def process(self, frame: Frame) -> FaceFeatures:
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=frame.rgb)
        if self.options.mode == "video":
            # MediaPipe rejects timestamps that do not increase; client clocks may repeat.
            ts = max(int(frame.capture_ms), self._last_timestamp_ms + 1)
            self._last_timestamp_ms = ts
            result = self._landmarker.detect_for_video(image, ts)
        else:
            result = self._landmarker.detect(image)
        due = frame.capture_ms - self._emotion_at_ms >= self.options.emotion_interval_ms
        features = _to_features(result, frame, self.options.gaze, self._emotion if due else None)
        if features.present and self._emotion is not None:
            if due:
                self._emotion_scores, self._emotion_at_ms = features.emotion_scores, frame.capture_ms
            else:  # between two runs of the CNN: its last scores
                features = replace(features, emotion_scores=self._emotion_scores)
        elif not features.present:
            self._emotion_at_ms = -math.inf  # a face that comes back is classified at once
        if features.present and self._neutral is not None:
            features = self._with_geometry(features, result, frame, self._neutral)
        return features.mirror() if self.options.mirror and features.present else features

    def _with_geometry(
        self,
        features: FaceFeatures,
        result: vision.FaceLandmarkerResult,
        frame: Frame,
        tracker: geometric_channels.NeutralTracker,
    ) -> FaceFeatures:
        measures = measure(landmarks_3d(_landmarks(result), frame.width, frame.height))
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


def _to_features(
    result: vision.FaceLandmarkerResult, frame: Frame, gaze: GazeWeights, emotion: FaceEmotionClassifier | None = None
) -> FaceFeatures:
    if not result.face_landmarks or not result.face_blendshapes:
        return FaceFeatures.absent(frame.capture_ms)
    blendshapes = np.zeros(len(ARKIT_INDEX))
    for c in result.face_blendshapes[0]:
        i = ARKIT_INDEX.get(c.category_name)
        if i is not None:
            blendshapes[i] = c.score
    blendshapes = np.clip(blendshapes, 0.0, 1.0)
    normalized = _landmarks(result)[:, :2]
    pixels = normalized * (frame.width, frame.height)
    matrix = np.asarray(result.facial_transformation_matrixes[0], dtype=np.float64)
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


def _landmarks(result: vision.FaceLandmarkerResult) -> np.ndarray:
    """(478, 3): the first face's landmarks, x and y normalised to the image, z relative."""
    return np.array([(p.x, p.y, p.z) for p in result.face_landmarks[0]], dtype=np.float64)


def _confidence(normalized: np.ndarray, pixels: np.ndarray) -> float:
    """MediaPipe exposes no per-face score: use the share of landmarks inside the image,
    reduced for faces too small to track reliably."""
    inside = np.mean((normalized >= 0.0).all(axis=1) & (normalized <= 1.0).all(axis=1))
    width_px = float(np.ptp(pixels[:, 0]))
    return float(inside * min(1.0, width_px / MIN_RELIABLE_FACE_PX))
