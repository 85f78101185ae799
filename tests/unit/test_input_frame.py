import struct
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from server.inference.input_frame import ImageDecodeError, decode_image, frame_from_rgb, image_size

MAX = 1920 * 1080


@pytest.mark.parametrize("ext", [".jpg", ".png", ".webp"])
def test_decodes_common_formats_to_rgb(astronaut: npt.NDArray[np.uint8], ext: str) -> None:
    ok, buf = cv2.imencode(ext, cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    f = decode_image(buf.tobytes(), 42, MAX)
    assert f.rgb.shape == astronaut.shape and f.capture_ms == 42
    assert np.abs(f.rgb.astype(int) - astronaut).mean() < 8  # RGB order kept (lossy formats aside)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"hello world", "unrecognised header"),
        (b"\xff\xd8\xff" + b"\x00" * 100, "damaged"),
        (
            b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xc0\x00\x11\x08\x00\x10\x00\x10\x03"
            + b"\x00" * 30,
            "could not be decoded",
        ),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "IHDR"),
        (b"\xff\xd8\xff\xe0\x00", "truncated"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", "unrecognised header"),
    ],
)
def test_rejects_garbage(data: bytes, message: str) -> None:
    with pytest.raises(ImageDecodeError, match=message):
        decode_image(data, 0, MAX)


@pytest.mark.parametrize(
    "ext, params",
    [(".jpg", []), (".png", []), (".webp", [cv2.IMWRITE_WEBP_QUALITY, 80]), (".webp", [cv2.IMWRITE_WEBP_QUALITY, 101])],
)  # 101: lossless
def test_the_header_says_the_size_without_decoding(
    astronaut: npt.NDArray[np.uint8], ext: str, params: list[int]
) -> None:
    crop = astronaut[:301, :437]
    ok, buf = cv2.imencode(ext, crop, params)
    assert image_size(buf.tobytes()) == (437, 301)


def test_a_tiny_png_declaring_a_billion_pixels_is_refused_before_decoding() -> None:
    """109 KB that declare 30000 x 30000 used to allocate 5 GB before the limit was checked."""
    import zlib

    ihdr = struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 10**6))
        + chunk(b"IEND", b"")
    )
    with pytest.raises(ImageDecodeError, match="declares 30000x30000"):
        decode_image(png, 0, MAX)


def test_rejects_oversized_images(astronaut: npt.NDArray[np.uint8]) -> None:
    ok, buf = cv2.imencode(".png", astronaut)
    with pytest.raises(ImageDecodeError, match="above the limit"):
        decode_image(buf.tobytes(), 0, 100 * 100)


def test_raw_rgb_checks_its_size(astronaut: npt.NDArray[np.uint8]) -> None:
    h, w = astronaut.shape[:2]
    assert frame_from_rgb(astronaut.tobytes(), w, h, 0, MAX).rgb.shape == (h, w, 3)
    with pytest.raises(ImageDecodeError, match="needs"):
        frame_from_rgb(astronaut.tobytes()[:-1], w, h, 0, MAX)
    with pytest.raises(ImageDecodeError, match="positive"):
        frame_from_rgb(b"", 0, 5, 0, MAX)


@pytest.mark.parametrize(
    "side, decoded", [(640, 640), (1279, 1279), (1280, 640), (1920, 960), (2600, 650), (5200, 650)]
)
def test_a_large_jpeg_is_decoded_smaller_but_never_below_640(
    astronaut: npt.NDArray[np.uint8], side: int, decoded: int
) -> None:
    big = cv2.resize(cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR), (side, side // 2))
    f = decode_image(cv2.imencode(".jpg", big)[1].tobytes(), 0, 10**8)
    assert f.width == decoded and abs(f.height - side // 2 * decoded / side) <= 1


def test_the_face_reads_the_same_from_a_1080p_jpeg_decoded_at_half_size(
    model_path: Path, astronaut: npt.NDArray[np.uint8]
) -> None:
    from server.inference.face import FaceTracker, FaceTrackerOptions

    big = cv2.resize(cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR), (1920, 1920))[420:1500]
    jpeg = cv2.imencode(".jpg", big, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()
    with FaceTracker(FaceTrackerOptions(model_path, mode="image")) as t:
        half = t.process(decode_image(jpeg, 0, 10**8))
        whole = t.process(decode_image(jpeg, 0, 10**8, long_side=10**5))
    assert (decode_image(jpeg, 0, 10**8).width, whole.present) == (960, True)
    assert np.abs(half.blendshapes - whole.blendshapes).max() < 0.1
    assert abs(half.head.yaw_deg - whole.head.yaw_deg) < 2 and abs(half.head.pitch_deg - whole.head.pitch_deg) < 2
