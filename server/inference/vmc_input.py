"""VMC in (`serve --vmc-listen PORT`): a VMC stream over UDP — an iPhone ARKit tracker, VSeeFace,
another avatar-driver — read as face features for the sessions whose hello says
`source: "vmc"`.

The one place OSC comes in. Anyone who can reach the port may send anything, so the event loop
does only O(1) work per datagram and the rest is bounded per datagram and per second:

* on the loop, ``datagram_received`` refuses a datagram larger than ``max_datagram_bytes`` or
  past the byte budget (``max_bytes_per_s``) and puts the others in a bounded queue
  (``queue_datagrams``; full: dropped) — no parsing there;
* one thread (``vmc-in``) parses each datagram with our own bounded parser (osc_packet.py: cost
  linear in its bytes, ``max_bundle_depth``, ``max_messages_per_datagram``), within a message
  budget (``max_messages_per_s``), and keeps the stream's state (the latest blend values and
  bone rotations);
* each ``/VMC/Ext/Blend/Apply`` within ``max_applies_per_s`` makes one FaceFeatures
  (avatar_mapping/vmc.py `face_from_vmc`, ~40 µs) that is handed to the loop
  (``call_soon_threadsafe``), where the subscribers get it.

So a flood costs the loop a few µs per datagram the kernel delivers and the thread at most the
budgets' worth of CPU (about 10 % of a core at the defaults), whatever the datagrams hold. A
budget is a token bucket holding at most one second's worth; a datagram is let in while the
bucket is not empty and then charged in full, so the rate is held over time and overshoots by
one datagram at most.

Anything that is not the protocol — an unparsable or oversized datagram, one past a budget, an
address it does not use, a value that is not a finite number, a zero rotation —
is dropped and counted (`avatar_driver_vmc_dropped_total{reason}`), logged at most once a minute
per reason, never raised. A stream that stops simply stops: the session's own staleness (0.5 s)
makes its face absent. The budgets are the listener's, not a sender's: a flood can starve the
VMC stream itself (it has no authentication anyway), never the server.
"""

from __future__ import annotations

import asyncio
import logging
import math
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from avatar_mapping.features import FaceFeatures
from avatar_mapping.vmc import PERFECT_SYNC_NAMES, face_from_vmc
from avatar_mapping.vocabulary import ARKIT_BLENDSHAPES

from ..metrics import Metrics
from ..settings import Settings
from .osc_packet import OscArg, OscLimits, OscPacketError, parse

log = logging.getLogger(__name__)
# What the state keeps (what face_from_vmc reads): other names — VRM presets, an avatar's own
# clips, other bones — are the protocol but no face measurement, and are not kept, so that no
# stream of new names can grow the state or crowd out the face's.
FACE_BLENDS = frozenset(ARKIT_BLENDSHAPES) | frozenset(PERFECT_SYNC_NAMES)
FACE_BONES = frozenset({"Neck", "Head", "LeftEye", "RightEye"})
LOG_EVERY_S = 60.0  # a drop reason is logged at most this often
Subscriber = Callable[[FaceFeatures], None]


@dataclass(frozen=True)
class VmcLimits:
    """What the listener takes (settings AVATAR_DRIVER_VMC_*, docs/vmc.md#limits)."""

    max_datagram_bytes: int
    max_bundle_depth: int
    max_messages_per_datagram: int
    max_bytes_per_s: int
    max_messages_per_s: int
    max_applies_per_s: int
    queue_datagrams: int

    @classmethod
    def from_settings(cls, settings: Settings) -> VmcLimits:
        return cls(
            max_datagram_bytes=settings.vmc_max_datagram_bytes,
            max_bundle_depth=settings.vmc_max_bundle_depth,
            max_messages_per_datagram=settings.vmc_max_messages_per_datagram,
            max_bytes_per_s=settings.vmc_max_bytes_per_s,
            max_messages_per_s=settings.vmc_max_messages_per_s,
            max_applies_per_s=settings.vmc_max_applies_per_s,
            queue_datagrams=settings.vmc_queue_datagrams,
        )


class Budget:
    """So much per second, with at most one second's worth saved up (a token bucket). ``allows``
    while anything is left; ``charge`` takes the real cost afterwards and may leave a debt."""

    def __init__(self, per_s: float):
        self.per_s = float(per_s)
        self._left = self.per_s
        self._at = time.monotonic()

    def allows(self) -> bool:
        now = time.monotonic()
        self._left = min(self.per_s, self._left + (now - self._at) * self.per_s)
        self._at = now
        return self._left > 0

    def charge(self, amount: float) -> None:
        self._left -= amount


class VmcListener(asyncio.DatagramProtocol):
    def __init__(self, metrics: Metrics, limits: VmcLimits | None = None):
        self.metrics = metrics
        self.limits = limits or VmcLimits.from_settings(Settings())
        self.subscribers: list[Subscriber] = []
        self._osc_limits = OscLimits(self.limits.max_bundle_depth, self.limits.max_messages_per_datagram)
        self._bytes = Budget(self.limits.max_bytes_per_s)  # the loop's
        self._messages = Budget(self.limits.max_messages_per_s)  # the thread's
        self._applies = Budget(self.limits.max_applies_per_s)  # the thread's
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=self.limits.queue_datagrams)
        self._blends: dict[str, float] = {}  # the thread's
        self._bones: dict[str, tuple[float, float, float, float]] = {}  # the thread's
        self._logged: dict[str, float] = {}
        self._log_lock = threading.Lock()
        self._closing = False
        self._transport: asyncio.BaseTransport | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @classmethod
    async def open(cls, host: str, port: int, metrics: Metrics, limits: VmcLimits | None = None) -> VmcListener:
        listener = cls(metrics, limits)
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
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._parse_forever, name="vmc-in", daemon=True)
        self._thread.start()

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Calls ``subscriber`` (on the event loop) with each applied frame until the returned function is called."""
        self.subscribers.append(subscriber)
        return lambda: self.subscribers.remove(subscriber) if subscriber in self.subscribers else None

    # -- on the event loop: admit or drop, nothing more ------------------------------------
    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if self._closing:
            return
        if len(data) > self.limits.max_datagram_bytes:
            self._drop("too_large")
        elif not self._bytes.allows():
            self._drop("over_budget")
        else:
            self._bytes.charge(len(data))
            try:
                self._queue.put_nowait(data)
            except queue.Full:
                self._drop("queue_full")

    def _deliver(self, features: FaceFeatures) -> None:
        if self._closing:
            return
        for subscriber in tuple(self.subscribers):
            subscriber(features)

    # -- on the vmc-in thread: parse and keep the stream's state -----------------------------
    def _parse_forever(self) -> None:
        while True:
            data = self._queue.get()
            if data is None or self._closing:
                return
            try:
                self._handle(data)
            except Exception:  # a bug here must not end VMC in for the server's lifetime
                self._drop("error", exc_info=True)

    def _handle(self, data: bytes) -> None:
        if not self._messages.allows():
            self._drop("over_budget")
            return
        try:
            messages = parse(data, self._osc_limits)
        except OscPacketError as e:
            self._messages.charge(1)
            self._drop(e.reason)
            return
        self._messages.charge(max(1, len(messages)))
        for address, args in messages:
            self._take(address, args)

    def _take(self, address: str, params: tuple[OscArg, ...]) -> None:
        if address == "/VMC/Ext/Blend/Val":
            value = _floats(params[1:2])
            if len(params) != 2 or not isinstance(params[0], str) or value is None:
                self._drop("bad_value")
            elif params[0] in FACE_BLENDS:
                self._blends[params[0]] = min(1.0, max(0.0, value[0]))
        elif address == "/VMC/Ext/Bone/Pos":
            pose = _floats(params[1:8])
            if len(params) < 8 or not isinstance(params[0], str) or pose is None:
                self._drop("bad_value")
            else:
                x, y, z, w = pose[3:7]
                norm = math.sqrt(x * x + y * y + z * z + w * w)
                if norm < 1e-6:
                    self._drop("bad_value")
                elif params[0] in FACE_BONES:
                    self._bones[params[0]] = (x / norm, y / norm, z / norm, w / norm)
        elif address == "/VMC/Ext/Blend/Apply":
            self._apply()
        elif not address.startswith("/VMC/Ext/"):
            self._drop("unknown_address")
        # other /VMC/Ext/ addresses (OK, T, Root/Pos, Cam, Set…) carry nothing a face needs

    def _apply(self) -> None:
        if not self._applies.allows():
            self._drop("over_budget")
            return
        self._applies.charge(1)
        features = face_from_vmc(self._blends, self._bones, int(time.time() * 1000))
        self.metrics.frames_in.labels("vmc").inc()
        assert self._loop is not None  # set before the thread starts
        try:
            self._loop.call_soon_threadsafe(self._deliver, features)
        except RuntimeError:  # the loop is closed: the server is going away
            self._closing = True

    # -- either side ----------------------------------------------------------------------
    def _drop(self, reason: str, exc_info: bool = False) -> None:
        self.metrics.vmc_dropped.labels(reason).inc()
        now = time.monotonic()
        with self._log_lock:
            if now - self._logged.get(reason, -math.inf) < LOG_EVERY_S:
                return
            self._logged[reason] = now
        log.warning(
            "VMC in: dropped (%s); counted in avatar_driver_vmc_dropped_total, logged once a minute",
            reason,
            exc_info=exc_info,
        )

    def close(self) -> None:
        """Stops listening and the parsing thread (it finishes the datagram it is on, ≤ a few ms)."""
        self._closing = True
        if self._transport is not None:
            self._transport.close()
        try:
            self._queue.put_nowait(None)
        except queue.Full:
            pass  # the thread sees _closing at its next datagram
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=1.0)


def _floats(values: tuple[OscArg, ...]) -> list[float] | None:
    """The values as floats when each is a finite number (not a bool); else None."""
    out = []
    for v in values:
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
            return None
        out.append(float(v))
    return out
