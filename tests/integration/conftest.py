"""Fixtures of the integration lane: a real server, a real nats-server, a UDP receiver."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from avatar_mapping.avatar_frame import AvatarFrame
from avatar_mapping.mapper import AvatarMapper
from server.assets.rig_store import RigStore
from server.settings import Settings
from tests.support.media import tracked
from tests.support.nats_server import NatsServer, nats_server
from tests.support.paths import REPO
from tests.support.server import serving


@pytest.fixture()
def live_server(settings: Settings) -> Iterator[int]:
    """The app with the test's settings, served on a free loopback port: the port."""
    with serving(settings) as port:
        yield port


@pytest.fixture(scope="session")
def nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    """One real nats-server (JetStream, deploy/nats.conf's users) for the tests that need it."""
    with nats_server(tmp_path_factory.mktemp("nats")) as server:
        yield server


@pytest.fixture()
def udp_receiver() -> Iterator[socket.socket]:
    """A UDP socket on a free loopback port, as a VMC receiver would be."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    yield sock
    sock.close()


@pytest.fixture(scope="module")
def smiling_frame(model_path: Path, astronaut: npt.NDArray[np.uint8]) -> AvatarFrame:
    """The astronaut's smile, tracked and mapped as a live session maps it."""
    features = tracked(model_path, astronaut)
    rig = RigStore.from_dir(REPO / "rigs").get("arkit52")
    assert rig is not None
    mapper = AvatarMapper(rig)
    frame = mapper.step(features, 1 / 30)
    for _ in range(29):  # the smoothing settles
        frame = mapper.step(features, 1 / 30)
    return frame
