"""Frame: one decoded video image, and decoding of what clients send.

An image's size is read from its header before it is decoded: a few kilobytes can declare
billions of pixels, and decoding them first would allocate that much. OpenCV's own limit
(OPENCV_IO_MAX_IMAGE_PIXELS, read at its first decode) is a backstop behind that check.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(1 << 26))  # 8192 x 8192

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


_JPEG, _PNG = b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n"
# JPEG start-of-frame markers (baseline, progressive, lossless, arithmetic): they carry the size.
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def image_size(data: bytes) -> tuple[int, int]:
    """(width, height) a JPEG, PNG or WebP declares in its header, without decoding it."""
    try:
        if data.startswith(_PNG):
            if data[12:16] != b"IHDR":
                raise ImageDecodeError("PNG without an IHDR header")
            return struct.unpack(">II", data[16:24])
        if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
            return _webp_size(data)
        if data.startswith(_JPEG):
            return _jpeg_size(data)
    except (struct.error, IndexError):
        raise ImageDecodeError("image header is truncated") from None
    raise ImageDecodeError("image is not JPEG, PNG or WebP (unrecognised header)")


def _webp_size(data: bytes) -> tuple[int, int]:
    chunk = data[12:16]
    if chunk == b"VP8 ":  # lossy: 14-bit sizes after the frame tag and start code
        if data[23:26] != b"\x9d\x01\x2a":
            raise ImageDecodeError("WebP (lossy) frame header is damaged")
        w, h = struct.unpack("<HH", data[26:30])
        return w & 0x3FFF, h & 0x3FFF
    if chunk == b"VP8L":  # lossless: 14-bit sizes minus one, packed after the signature
        if data[20] != 0x2F:
            raise ImageDecodeError("WebP (lossless) header is damaged")
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":  # extended: 24-bit canvas sizes minus one
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    raise ImageDecodeError(f"WebP with an unknown first chunk {chunk!r}")


def _jpeg_size(data: bytes) -> tuple[int, int]:
    i = 2
    while True:
        while data[i] == 0xFF and data[i + 1] == 0xFF:  # fill bytes
            i += 1
        if data[i] != 0xFF:
            raise ImageDecodeError("JPEG segment structure is damaged")
        marker = data[i + 1]
        if 0xD0 <= marker <= 0xD7 or marker in (0x01, 0xD8):  # no length
            i += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image, or the scan before any frame header
            raise ImageDecodeError("JPEG has no frame header before its image data")
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        if marker in _JPEG_SOF:
            h, w = struct.unpack(">HH", data[i + 5 : i + 9])
            return w, h
        i += 2 + length


# JPEGs far larger than the face models need are decoded at 1/2, 1/4 or 1/8 of their size
# (libjpeg scales in the DCT, so it is cheaper than decoding whole), keeping the long side at
# least this long: MediaPipe crops the face to 192 px, and a face filling a fifth of a 640 px
# frame is still 128 px wide.
DECODE_LONG_SIDE = 640
_REDUCED = ((8, cv2.IMREAD_REDUCED_COLOR_8), (4, cv2.IMREAD_REDUCED_COLOR_4), (2, cv2.IMREAD_REDUCED_COLOR_2))


def decode_image(data: bytes, capture_ms: int, max_pixels: int, long_side: int = DECODE_LONG_SIDE) -> Frame:
    """A Frame from JPEG, PNG or WebP bytes; the declared size is checked before decoding. A
    JPEG at least twice ``long_side`` is decoded smaller (by 2, 4 or 8, never below it)."""
    w, h = image_size(data)
    if w * h > max_pixels:
        raise ImageDecodeError(f"image declares {w}x{h}, above the limit of {max_pixels} pixels")
    buf = np.frombuffer(data, dtype=np.uint8)
    flag = cv2.IMREAD_COLOR
    if data.startswith(_JPEG):
        flag = next((f for factor, f in _REDUCED if max(w, h) // factor >= long_side), cv2.IMREAD_COLOR)
    bgr = cv2.imdecode(buf, flag)
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
