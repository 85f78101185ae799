"""VMC in: a real session's frame through our VMC out, read back by our VMC in (the same
weights within 1e-3, the head within 0.1°); what is not the protocol is dropped and counted."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence

import numpy as np
import pytest
from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message_builder import ArgValue, OscMessageBuilder

from avatar_mapping.avatar_frame import AvatarFrame
from avatar_mapping.features import FaceFeatures
from avatar_mapping.vocabulary import ARKIT_BLENDSHAPES
from server.inference.vmc_input import VmcListener
from server.metrics import Metrics
from server.sinks.vmc import VmcSink


def osc(address: str, *args: ArgValue) -> bytes:
    builder = OscMessageBuilder(address=address)
    for a in args:
        builder.add_arg(a)
    return builder.build().dgram


def flood(n: int) -> bytes:
    bundle = OscBundleBuilder(IMMEDIATELY)
    for i in range(n):
        builder = OscMessageBuilder(address="/VMC/Ext/Blend/Val")
        builder.add_arg(f"Clip{i}")
        builder.add_arg(0.5)
        bundle.add_content(builder.build())
    return bundle.build().dgram


def run(datagrams: Sequence[bytes], metrics: Metrics | None = None) -> tuple[list[FaceFeatures], Metrics]:
    """Sends the datagrams to a fresh listener on loopback; what it applied, and its metrics."""
    metrics = metrics or Metrics()

    async def scenario() -> list[FaceFeatures]:
        listener = await VmcListener.open("127.0.0.1", 0, metrics)
        got: list[FaceFeatures] = []
        listener.subscribe(got.append)
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for d in datagrams:
            sender.sendto(d, listener.address)
        for _ in range(50):
            await asyncio.sleep(0.02)
        sender.close()
        listener.close()
        return got

    return asyncio.run(scenario()), metrics


@pytest.mark.parametrize("profile", ["perfect_sync", "all"])
def test_our_vmc_out_read_by_our_vmc_in_gives_the_same_face(smiling_frame: AvatarFrame, profile: str) -> None:
    sink = VmcSink(("127.0.0.1", 9), profile, Metrics())
    applied, metrics = run([sink.bundle(smiling_frame)])
    sink.close()
    assert len(applied) == 1
    face = applied[0]
    weights = smiling_frame.weights_by_name()
    sent = np.array([weights[n] for n in ARKIT_BLENDSHAPES])
    assert face.present and np.abs(face.blendshapes - sent).max() < 1e-3
    assert abs(face.head.yaw_deg - smiling_frame.head_yaw_deg) < 0.1
    assert abs(face.head.pitch_deg - smiling_frame.head_pitch_deg) < 0.1
    assert abs(face.head.roll_deg - smiling_frame.head_roll_deg) < 0.1
    assert metrics.registry.get_sample_value("avatar_driver_frames_in_total", {"kind": "vmc"}) == 1


def test_what_is_not_the_protocol_is_dropped_and_counted_never_raised() -> None:
    applied, metrics = run(
        [
            b"\x00garbage that is not OSC",
            osc("/some/other/app", 1.0),
            osc("/VMC/Ext/Blend/Val", "JawOpen", float("nan")),
            osc("/VMC/Ext/Blend/Val", "JawOpen"),
            osc("/VMC/Ext/Bone/Pos", "Head", 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),  # a zero quaternion
            osc("/VMC/Ext/Bone/Pos", "Head", 0.0, 0.0, 0.0, float("inf"), 0.0, 0.0, 1.0),
            osc("/VMC/Ext/Blend/Val", "JawOpen", 2.5),  # out of range: held to 1
            flood(300),  # more names than any avatar has, in one bundle: past 256 names, new ones are dropped
            osc("/VMC/Ext/OK", 1),
            osc("/VMC/Ext/Blend/Apply"),
        ]
    )

    def count(reason: str) -> float:
        return metrics.registry.get_sample_value("avatar_driver_vmc_dropped_total", {"reason": reason}) or 0

    assert count("malformed") == 1 and count("unknown_address") == 1
    assert count("bad_value") == 4 and count("too_many_names") == 300 - 255
    assert len(applied) == 1 and applied[0].blendshapes[ARKIT_BLENDSHAPES.index("jawOpen")] == 1.0
    assert applied[0].head.yaw_deg == 0.0
