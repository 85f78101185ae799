"""Media for tests: real photos through the real face model, JPEG and WAV bytes as clients
send them, a moving face made from a photo, and speech from espeak-ng."""

from __future__ import annotations

import io
import wave
from collections.abc import Iterable, Iterator
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from avatar_mapping.features import FaceFeatures
from server.inference.audio import to_model_rate
from server.inference.espeak import speak

Image = npt.NDArray[np.uint8]
# espeak-ng's command line ends a text with a pause the library's callback does not deliver.
ESPEAK_TRAILING_SILENCE_S = 0.4


def tracked(model_path: Path, rgb: Image) -> FaceFeatures:
    """A photo through the real face model (one frame, image mode)."""
    from server.inference.face import FaceTracker, FaceTrackerOptions
    from server.inference.input_frame import frame_from_rgb

    tracker = FaceTracker(FaceTrackerOptions(model_path))
    try:
        return tracker.process(frame_from_rgb(rgb.tobytes(), rgb.shape[1], rgb.shape[0], 0, 1 << 22))
    finally:
        tracker.close()


def jpeg(rgb: Image) -> bytes:
    """An RGB image as the viewer sends it."""
    return bytes(cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))[1].tobytes())


def wav_bytes(samples: npt.NDArray[np.floating], rate: int, channels: int = 1) -> bytes:
    """16-bit PCM WAV of samples in [-1, 1] (interleaved when ``channels`` > 1)."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return buf.getvalue()


def rotated_video(img: Image, angles_deg: Iterable[float], shifts_px: Iterable[tuple[float, float]]) -> Iterator[Image]:
    """Frames of a photo turned about the astronaut's face and moved, one per angle."""
    h, w = img.shape[:2]
    centre = (w * 0.42, h * 0.3)  # about the astronaut's face
    for angle, (dx, dy) in zip(angles_deg, shifts_px, strict=True):
        m = cv2.getRotationMatrix2D(centre, angle, 1.0)  # positive = counter-clockwise on screen
        m[:, 2] += np.array((dx, dy))
        yield np.ascontiguousarray(cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REFLECT))


def espeak(text: str) -> npt.NDArray[np.float32]:
    """``text`` spoken by espeak-ng (American English, 150 words a minute) at the models'
    16 kHz, followed by the pause its command line would end with."""
    spoken = speak(text, words_per_minute=150)
    pause = np.zeros(int(ESPEAK_TRAILING_SILENCE_S * spoken.rate_hz), np.float32)
    return to_model_rate(np.concatenate([spoken.audio, pause]), spoken.rate_hz)


def pcm16(samples: npt.NDArray[np.floating]) -> npt.NDArray[np.int16]:
    """Float samples as the 16-bit little-endian PCM clients send."""
    pcm: npt.NDArray[np.int16] = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    return pcm
