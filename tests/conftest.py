"""Shared fixtures: the real face model, real photos, and settings for test apps."""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import uvicorn
from skimage import data

from server.app import create_app
from server.models.store import ModelStore
from server.settings import Settings

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO / "tests" / "golden"


@pytest.fixture(scope="session")
def model_path() -> Path:
    """The real face_landmarker.task; `make test` fetches it before the tests run."""
    return ModelStore(Settings().models).require("face_landmarker")


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    return np.ascontiguousarray(data.astronaut())


@pytest.fixture(scope="session")
def resting_face() -> np.ndarray:
    """A real person's face at rest (eyes open, mouth closed, no smile): one of scikit-image's
    Labeled Faces in the Wild crops, 25 px upscaled to 256 (blurry, still tracked)."""
    import cv2

    face = (data.lfw_subset()[63] * 255).astype(np.uint8)
    return np.ascontiguousarray(np.dstack([cv2.resize(face, (256, 256), interpolation=cv2.INTER_CUBIC)] * 3))


@pytest.fixture(scope="session")
def cat() -> np.ndarray:
    return np.ascontiguousarray(data.chelsea())


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    return Settings(
        models=Settings().models,
        rigs_dir=REPO / "rigs",
        web_dir=tmp_path / "no-web",
        data_dir=tmp_path / "data",
        sensevoice_dir=tmp_path / "no-sensevoice",
    )


# Real third-party avatars (non-commercial licences): read from ../shared, never copied.
AVATARS = REPO.parent / "shared" / "avatars"


@pytest.fixture(scope="session")
def avatars() -> Path:
    if not (AVATARS / "brunette-t.glb").is_file():
        pytest.fail(f"the shared test avatars are missing at {AVATARS}")
    return AVATARS


@pytest.fixture(scope="session")
def tiny_sensevoice(tmp_path_factory) -> Path:
    """A randomly initialised SenseVoiceSmall in the hub's folder layout (tests/sensevoice_tiny.py)."""
    from tests.sensevoice_tiny import build_tiny_sensevoice

    return build_tiny_sensevoice(tmp_path_factory.mktemp("sensevoice-random"))


@pytest.fixture(scope="session")
def scripted_sensevoice(tmp_path_factory) -> Path:
    """The same, its CTC head biased so that it says "the" and its emotion frame favours HAPPY."""
    from tests.sensevoice_tiny import build_tiny_sensevoice

    return build_tiny_sensevoice(
        tmp_path_factory.mktemp("sensevoice-scripted"), favour={"▁the": 20.0, "<|HAPPY|>": 10.0}
    )


@contextmanager
def serving(settings: Settings):
    """The real app under uvicorn on a free loopback port, in a thread; yields the port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "the server did not start"
    try:
        yield port
    finally:
        srv.should_exit = True
        thread.join(10)


@pytest.fixture()
def live_server(settings):
    with serving(settings) as port:
        yield port


@pytest.fixture(scope="session")
def nats(tmp_path_factory):
    """One real nats-server (JetStream, deploy/nats.conf's users) for the tests that need it."""
    from tests.nats_server import nats_server

    with nats_server(tmp_path_factory.mktemp("nats")) as server:
        yield server


def tracked(model_path: Path, rgb: np.ndarray):
    """A photo through the real face model (one frame, image mode)."""
    from server.inference.face import FaceTracker, FaceTrackerOptions
    from server.inference.input_frame import frame_from_rgb

    tracker = FaceTracker(FaceTrackerOptions(model_path))
    try:
        return tracker.process(frame_from_rgb(rgb.tobytes(), rgb.shape[1], rgb.shape[0], 0, 1 << 22))
    finally:
        tracker.close()


@pytest.fixture()
def udp_receiver():
    """A UDP socket on a free loopback port, as a VMC receiver would be."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    yield sock
    sock.close()
