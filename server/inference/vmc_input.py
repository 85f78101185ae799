"""VMC in (`serve --vmc-listen PORT`): a VMC stream over UDP — an iPhone ARKit tracker, VSeeFace,
another avatar-driver — read as face features for the sessions whose hello says
`source: "vmc"`.

The one place OSC comes in: python-osc parses each datagram; the state of the stream (the
latest blend values and bone rotations) is kept until `/VMC/Ext/Blend/Apply`, which makes one
FaceFeatures (avatar_mapping/vmc.py `face_from_vmc`) for every subscriber. Anything that is not
the protocol — an unparsable datagram, an address it does not use, a value that is not a finite
number, more names than any avatar has — is dropped and counted
(`avatar_driver_vmc_dropped_total{reason}`), never raised. A stream that stops simply stops:
the session's own staleness (0.5 s) makes its face absent.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from typing import Any

from pythonosc.osc_packet import OscPacket, ParseError

from avatar_mapping.features import FaceFeatures
from avatar_mapping.vmc import face_from_vmc

from ..metrics import Metrics

log = logging.getLogger(__name__)
MAX_NAMES = 256  # blend values kept between two Apply: far more than any avatar's clips
Subscriber = Callable[[FaceFeatures], None]


class VmcListener(asyncio.DatagramProtocol):
    def __init__(self, metrics: Metrics):
        self.metrics = metrics
        self.subscribers: list[Subscriber] = []
        self._blends: dict[str, float] = {}
        self._bones: dict[str, tuple[float, float, float, float]] = {}
        self._transport: asyncio.BaseTransport | None = None

    @classmethod
    async def open(cls, host: str, port: int, metrics: Metrics) -> VmcListener:
        listener = cls(metrics)
        await asyncio.get_running_loop().create_datagram_endpoint(lambda: listener, local_addr=(host, port))
        log.info("VMC in: listening on udp://%s:%d", host, port)
        return listener

    @property
    def address(self) -> tuple[str, int]:
        assert self._transport is not None
        sockname: tuple[str, int] = self._transport.get_extra_info("sockname")[:2]
        return sockname

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Calls ``subscriber`` with each applied frame until the returned function is called."""
        self.subscribers.append(subscriber)
        return lambda: self.subscribers.remove(subscriber) if subscriber in self.subscribers else None

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            messages = OscPacket(data).messages
        except (ParseError, ValueError, IndexError):
            self._drop("malformed")
            return
        for timed in messages:
            self._take(timed.message.address, timed.message.params)

    def _take(self, address: str, params: list[Any]) -> None:
        if address == "/VMC/Ext/Blend/Val":
            if len(params) != 2 or not isinstance(params[0], str) or not _finite(params[1]):
                self._drop("bad_value")
            elif params[0] not in self._blends and len(self._blends) >= MAX_NAMES:
                self._drop("too_many_names")
            else:
                self._blends[params[0]] = min(1.0, max(0.0, float(params[1])))
        elif address == "/VMC/Ext/Bone/Pos":
            if len(params) < 8 or not isinstance(params[0], str) or not all(_finite(v) for v in params[1:8]):
                self._drop("bad_value")
            else:
                x, y, z, w = (float(v) for v in params[4:8])
                norm = math.sqrt(x * x + y * y + z * z + w * w)
                if norm < 1e-6:
                    self._drop("bad_value")
                else:
                    self._bones[params[0]] = (x / norm, y / norm, z / norm, w / norm)
        elif address == "/VMC/Ext/Blend/Apply":
            features = face_from_vmc(self._blends, self._bones, int(time.time() * 1000))
            self.metrics.frames_in.labels("vmc").inc()
            for subscriber in tuple(self.subscribers):
                subscriber(features)
        elif not address.startswith("/VMC/Ext/"):
            self._drop("unknown_address")
        # other /VMC/Ext/ addresses (OK, T, Root/Pos, Cam, Set…) carry nothing a face needs

    def _drop(self, reason: str) -> None:
        self.metrics.vmc_dropped.labels(reason).inc()

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
