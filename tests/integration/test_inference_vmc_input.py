"""VMC in: a real session's frame through our VMC out, read back by our VMC in (the same
weights within 1e-3, the head within 0.1°); what is not the protocol is dropped and counted;
and the attacks of issue 24 — the one datagram that hung the server, 3000-deep bundles,
zero-size elements, floods of 1500-value bundles — cost the event loop next to nothing, are
counted, and the stream goes on. A real listener on a loopback UDP port, a heartbeat task on
its event loop measuring how late the loop runs, the whole scenario under a deadline."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

from avatar_mapping.avatar_frame import AvatarFrame
from avatar_mapping.features import FaceFeatures
from avatar_mapping.vocabulary import ARKIT_BLENDSHAPES
from server.inference.vmc_input import VmcLimits, VmcListener
from server.metrics import Metrics
from server.settings import Settings
from server.sinks.vmc import VmcSink
from tests.support.vmc import (
    HANG_DATAGRAM,
    blend_flood,
    deadline,
    nested_bundle,
    osc,
    tracker_frame,
    zero_size_elements,
)

TICK_S = 0.01  # the heartbeat's period
SCENARIO_DEADLINE_S = 30.0
JAW = ARKIT_BLENDSHAPES.index("jawOpen")
Send = Callable[[socket.socket, tuple[str, int]], None]


@dataclass
class Outcome:
    applied: list[FaceFeatures]
    metrics: Metrics
    max_gap_s: float  # the longest the loop went without running the heartbeat
    late_fraction: float  # of the time, how much the heartbeat ran late: the loop was busy (or starved of the GIL)

    def dropped(self, reason: str) -> float:
        return self.metrics.registry.get_sample_value("avatar_driver_vmc_dropped_total", {"reason": reason}) or 0


def listen(send: Send, limits: VmcLimits | None = None, settle_s: float = 1.0) -> Outcome:
    """A fresh listener on loopback; ``send`` runs on a thread of its own with a socket and the
    listener's address, then the listener settles for ``settle_s``; what it applied and counted."""
    metrics = Metrics()

    async def scenario() -> Outcome:
        listener = await VmcListener.open("127.0.0.1", 0, metrics, limits)
        applied: list[FaceFeatures] = []
        listener.subscribe(applied.append)
        gaps: list[float] = []

        async def heartbeat() -> None:
            last = time.monotonic()
            while True:
                await asyncio.sleep(TICK_S)
                now = time.monotonic()
                gaps.append(now - last)
                last = now

        beating = asyncio.create_task(heartbeat())
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            await asyncio.to_thread(send, sender, listener.address)
        await asyncio.sleep(settle_s)
        beating.cancel()
        listener.close()
        late = sum(max(0.0, g - TICK_S) for g in gaps) / max(sum(gaps), 1e-9)
        return Outcome(applied, metrics, max(gaps, default=0.0), late)

    with deadline(SCENARIO_DEADLINE_S):
        return asyncio.run(scenario())


def sends(*datagrams: bytes) -> Send:
    def send(sender: socket.socket, address: tuple[str, int]) -> None:
        for d in datagrams:
            sender.sendto(d, address)

    return send


@pytest.mark.parametrize("profile", ["perfect_sync", "all"])
def test_our_vmc_out_read_by_our_vmc_in_gives_the_same_face(smiling_frame: AvatarFrame, profile: str) -> None:
    sink = VmcSink(("127.0.0.1", 9), profile, Metrics())
    out = listen(sends(sink.bundle(smiling_frame)))
    sink.close()
    assert len(out.applied) == 1
    face = out.applied[0]
    weights = smiling_frame.weights_by_name()
    sent = np.array([weights[n] for n in ARKIT_BLENDSHAPES])
    assert face.present and np.abs(face.blendshapes - sent).max() < 1e-3
    assert abs(face.head.yaw_deg - smiling_frame.head_yaw_deg) < 0.1
    assert abs(face.head.pitch_deg - smiling_frame.head_pitch_deg) < 0.1
    assert abs(face.head.roll_deg - smiling_frame.head_roll_deg) < 0.1
    assert out.metrics.registry.get_sample_value("avatar_driver_frames_in_total", {"kind": "vmc"}) == 1


def test_what_is_not_the_protocol_is_dropped_and_counted_never_raised() -> None:
    out = listen(
        sends(
            b"\x00garbage that is not OSC",
            osc("/some/other/app", 1.0),
            osc("/VMC/Ext/Blend/Val", "JawOpen", float("nan")),
            osc("/VMC/Ext/Blend/Val", "JawOpen"),
            osc("/VMC/Ext/Bone/Pos", "Head", 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),  # a zero quaternion
            osc("/VMC/Ext/Bone/Pos", "Head", 0.0, 0.0, 0.0, float("inf"), 0.0, 0.0, 1.0),
            osc("/VMC/Ext/Blend/Val", "JawOpen", 2.5),  # out of range: held to 1
            blend_flood(300),  # names that are no face measurement (an avatar's own clips): not kept, no harm
            osc("/VMC/Ext/OK", 1),
            osc("/VMC/Ext/Blend/Apply"),
        )
    )
    assert out.dropped("malformed") == 1 and out.dropped("unknown_address") == 1
    assert out.dropped("bad_value") == 4 and out.dropped("too_many_names") == 0
    assert len(out.applied) == 1 and out.applied[0].blendshapes[JAW] == 1.0
    assert out.applied[0].head.yaw_deg == 0.0


def test_the_datagrams_that_hung_or_flooded_the_loop_are_counted_and_the_stream_goes_on() -> None:
    """Issue 24, items 1 and 4: python-osc looped forever on the first datagram (element size
    −4), on the event loop; raised RecursionError on the second; logged a line per byte on the
    third. Here each is one count, and the tracker's frame after them is applied."""
    out = listen(
        sends(
            HANG_DATAGRAM,
            nested_bundle(3000, osc("/VMC/Ext/Blend/Apply")),  # 48 KB: too large before it is too deep
            nested_bundle(100, osc("/VMC/Ext/Blend/Apply")),
            zero_size_elements(4000),
            tracker_frame(0.5, 0.0),
        )
    )
    assert out.dropped("bad_element_size") == 2
    assert out.dropped("too_large") == 1 and out.dropped("too_deep") == 1
    assert len(out.applied) == 1 and abs(out.applied[0].blendshapes[JAW] - 0.5) < 1e-6
    assert out.max_gap_s < 0.25


def test_a_flood_costs_the_loop_little_is_counted_and_the_tracker_comes_back_after_it() -> None:
    """Issue 24, item 4: 50 datagrams/s of 1500-value bundles (60 KB each; python-osc parsed them
    on the loop: it was busy 80–100 % of the time) and 50/s of 700-value ones (within the size
    limit, past the byte and message budgets), for 2 s beside a tracker at 30 Hz; then the
    tracker alone."""
    limits = VmcLimits.from_settings(Settings())
    big, within = blend_flood(1500), blend_flood(700)
    assert len(big) > limits.max_datagram_bytes >= len(within)
    stop = threading.Event()

    def send(sender: socket.socket, address: tuple[str, int]) -> None:
        sender.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        start = time.monotonic()
        for i in range(100):  # 2 s
            sender.sendto(big, address)
            sender.sendto(within, address)
            if i % 2 == 0:
                sender.sendto(tracker_frame(0.2, 0.0), address)
            time.sleep(max(0.0, start + (i + 1) * 0.02 - time.monotonic()))
        time.sleep(1.2)  # the budgets fill again (a second's worth)
        for _ in range(5):
            sender.sendto(tracker_frame(0.7, 0.0), address)
            time.sleep(1 / 30)
        stop.set()

    out = listen(send, limits)
    assert stop.is_set()
    assert out.dropped("too_large") > 0 and out.dropped("over_budget") > 0
    assert out.late_fraction < 0.2 and out.max_gap_s < 0.25, (out.late_fraction, out.max_gap_s)
    assert out.applied and abs(out.applied[-1].blendshapes[JAW] - 0.7) < 1e-6
