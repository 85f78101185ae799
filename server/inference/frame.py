"""Frame: one decoded video image, and decoding of what clients send."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


class ImageDecodeError(ValueError):
    """Image bytes that are not a decodable JPEG/PNG/WebP, or a raw buffer of the wrong size."""


@dataclass(frozen=True, eq=False)
class Frame:
    rgb: np.ndarray  # (height, width, 3) uint8, C-contiguous
    capture_ms: int

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])


_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"RIFF")


def decode_image(data: bytes, capture_ms: int, max_pixels: int) -> Frame:
    """A Frame from JPEG, PNG or WebP bytes."""
    if not data.startswith(_MAGIC) or (data.startswith(b"RIFF") and data[8:12] != b"WEBP"):
        raise ImageDecodeError("image is not JPEG, PNG or WebP (unrecognised header)")
    buf = np.frombuffer(data, dtype=np.uint8)
    bgr = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if bgr is None:
        raise ImageDecodeError("image bytes could not be decoded (truncated or corrupt)")
    if bgr.shape[0] * bgr.shape[1] > max_pixels:
        raise ImageDecodeError(f"image is {bgr.shape[1]}x{bgr.shape[0]}, above the limit of {max_pixels} pixels")
    return Frame(np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)), capture_ms)


def frame_from_rgb(data: bytes, width: int, height: int, capture_ms: int, max_pixels: int) -> Frame:
    """A Frame from raw packed RGB24 bytes."""
    if width <= 0 or height <= 0:
        raise ImageDecodeError(f"raw rgb frame needs positive width and height, got {width}x{height}")
    if width * height > max_pixels:
        raise ImageDecodeError(f"image is {width}x{height}, above the limit of {max_pixels} pixels")
    if len(data) != width * height * 3:
        raise ImageDecodeError(f"raw rgb frame of {width}x{height} needs {width * height * 3} bytes, got {len(data)}")
    rgb = np.frombuffer(data, dtype=np.uint8).reshape(height, width, 3)
    return Frame(np.ascontiguousarray(rgb), capture_ms)
