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


def copied_to_channels(samples: npt.NDArray[np.floating], channels: int) -> npt.NDArray[np.floating]:
    """Mono samples as ``channels`` identical interleaved channels (wav_bytes' input)."""
    return np.repeat(np.asarray(samples), channels)


def id3v2_header(body_bytes: int) -> bytes:
    """The 10-byte header of an ID3v2.4 tag whose body (frames) is ``body_bytes`` long: the
    size "syncsafe", 7 bits a byte, as MP3 files carry it before their audio."""
    size = bytes((body_bytes >> shift) & 0x7F for shift in (21, 14, 7, 0))
    return b"ID3\x04\x00\x00" + size


def wav_header(rate: int, channels: int, data_bytes: int, sample_bytes: int = 2) -> bytes:
    """The 44-byte header of a PCM WAV whose data chunk says ``data_bytes`` (it may lie)."""
    import struct

    block = channels * sample_bytes
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * block, block, 8 * sample_bytes)
    riff_size = min(4 + 8 + len(fmt) + 8 + data_bytes, 0xFFFFFFFF)
    return (
        b"RIFF"
        + struct.pack("<I", riff_size)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + (b"data" + struct.pack("<I", min(data_bytes, 0xFFFFFFFF)))
    )
