"""The face of a session whose hello says `source: "vmc"`: each frame a VMC tracker applies
(server/inference/vmc_input.py) goes on the bus as a FaceResult, as the face stage's would, so
the session's calibration, strategies, smoothing, A/B, recording and every output apply."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from avatar_mapping.features import FaceFeatures

from ..inference.vmc_input import VmcListener
from ..protocol.bus import FaceResult
from .bus import Bus


class VmcStage:
    name = "vmc"

    def __init__(self, session_id: str, bus: Bus, listener: VmcListener):
        self.session_id = session_id
        self.bus = bus
        self.listener = listener
        self._unsubscribe: Callable[[], None] | None = None

    @property
    def task(self) -> asyncio.Task[None] | None:
        return None  # nothing runs of its own: the listener calls it

    async def start(self) -> None:
        self._unsubscribe = self.listener.subscribe(self._on_features)

    def _on_features(self, features: FaceFeatures) -> None:
        self.bus.publish(self.session_id, FaceResult(features, time.monotonic()))

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
