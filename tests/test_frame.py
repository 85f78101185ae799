import cv2
import numpy as np
import pytest

from server.inference.frame import ImageDecodeError, decode_image, frame_from_rgb

MAX = 1920 * 1080


@pytest.mark.parametrize("ext", [".jpg", ".png", ".webp"])
def test_decodes_common_formats_to_rgb(astronaut, ext):
    ok, buf = cv2.imencode(ext, cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    f = decode_image(buf.tobytes(), 42, MAX)
    assert f.rgb.shape == astronaut.shape and f.capture_ms == 42
    assert np.abs(f.rgb.astype(int) - astronaut).mean() < 8  # RGB order kept (lossy formats aside)


@pytest.mark.parametrize("data, message", [
    (b"hello world", "unrecognised header"),
    (b"\xff\xd8\xff" + b"\x00" * 100, "could not be decoded"),
    (b"RIFF\x00\x00\x00\x00WAVEfmt ", "unrecognised header"),
])
def test_rejects_garbage(data, message):
    with pytest.raises(ImageDecodeError, match=message):
        decode_image(data, 0, MAX)


def test_rejects_oversized_images(astronaut):
    ok, buf = cv2.imencode(".png", astronaut)
    with pytest.raises(ImageDecodeError, match="above the limit"):
        decode_image(buf.tobytes(), 0, 100 * 100)


def test_raw_rgb_checks_its_size(astronaut):
    h, w = astronaut.shape[:2]
    assert frame_from_rgb(astronaut.tobytes(), w, h, 0, MAX).rgb.shape == (h, w, 3)
    with pytest.raises(ImageDecodeError, match="needs"):
        frame_from_rgb(astronaut.tobytes()[:-1], w, h, 0, MAX)
    with pytest.raises(ImageDecodeError, match="positive"):
        frame_from_rgb(b"", 0, 5, 0, MAX)
