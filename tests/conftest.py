"""Fixtures both lanes share (tests/unit, tests/integration): the real face model, real
photos, settings for test apps; and the run's own checks. Nothing here imports the app."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import settings as hypothesis_settings
from skimage import data

from server.models.store import ModelStore
from server.settings import Settings
from tests.support.paths import AVATARS, REPO
from tests.support.processes import adopt_orphans, living_descendants

# Property tests: 10,000 cases each; `make test-fast` asks for a tenth (HYPOTHESIS_PROFILE=fast).
hypothesis_settings.register_profile("full", max_examples=10_000)
hypothesis_settings.register_profile("fast", max_examples=1_000)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "full"))
# How long a process the tests started may take to exit once they are done.
CHILDREN_GRACE_S = 5.0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test is marked by its lane: `-m unit` or `-m integration` selects one."""
    for item in items:
        lane = "integration" if "integration" in item.path.parts else "unit"
        item.add_marker(getattr(pytest.mark, lane))


@pytest.fixture(scope="session", autouse=True)
def no_process_outlives_the_tests() -> Iterator[None]:
    """Fails the run when a process the tests started (a pool's worker, a server, a
    nats-server) is still alive after the last test: something did not shut it down."""
    adopt_orphans()
    yield
    deadline = time.monotonic() + CHILDREN_GRACE_S
    while (left := living_descendants()) and time.monotonic() < deadline:
        time.sleep(0.1)
    if left:
        pytest.fail("processes outlived the tests:\n" + "\n".join(f"  {c.pid}: {c.command[:200]}" for c in left))


@pytest.fixture(scope="session")
def model_path() -> Path:
    """The real face_landmarker.task; `make test` fetches it before the tests run."""
    return ModelStore(Settings().models).require("face_landmarker")


@pytest.fixture(scope="session")
def astronaut() -> npt.NDArray[np.uint8]:
    return np.ascontiguousarray(data.astronaut())


@pytest.fixture(scope="session")
def resting_face() -> npt.NDArray[np.uint8]:
    """A real person's face at rest (eyes open, mouth closed, no smile): one of scikit-image's
    Labeled Faces in the Wild crops, 25 px upscaled to 256 (blurry, still tracked)."""
    import cv2

    face = (data.lfw_subset()[63] * 255).astype(np.uint8)
    return np.ascontiguousarray(np.dstack([cv2.resize(face, (256, 256), interpolation=cv2.INTER_CUBIC)] * 3))


@pytest.fixture(scope="session")
def cat() -> npt.NDArray[np.uint8]:
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


@pytest.fixture(scope="session")
def avatars() -> Path:
    if not (AVATARS / "brunette-t.glb").is_file():
        pytest.fail(f"the shared test avatars are missing at {AVATARS}")
    return AVATARS


@pytest.fixture(scope="session")
def tiny_sensevoice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised SenseVoiceSmall in the hub's folder layout (tests/support/sensevoice_tiny.py)."""
    from tests.support.sensevoice_tiny import build_tiny_sensevoice

    return build_tiny_sensevoice(tmp_path_factory.mktemp("sensevoice-random"))


@pytest.fixture(scope="session")
def scripted_sensevoice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same, its CTC head biased so that it says "the" and its emotion frame favours HAPPY."""
    from tests.support.sensevoice_tiny import build_tiny_sensevoice

    return build_tiny_sensevoice(
        tmp_path_factory.mktemp("sensevoice-scripted"), favour={"▁the": 20.0, "<|HAPPY|>": 10.0}
    )
