"""The VMC sink: a real face (the astronaut, through the real face model and mapper) as OSC
bundles, read back by python-osc's own parser on a loopback UDP socket, for every profile."""

from __future__ import annotations

import socket
from typing import Any

import numpy as np
import pytest
from pythonosc.osc_bundle import OscBundle

from avatar_mapping.avatar_frame import AvatarFrame
from avatar_mapping.features import FaceFeatures
from avatar_mapping.latest_inputs import InputSample
from avatar_mapping.vmc import NAMES, PROFILES, gltf_to_unity
from avatar_mapping.vocabulary import EMOTIONS
from avatar_mapping.voice_features import VoiceFeatures
from server.metrics import Metrics
from server.sinks.base import FrameMeta
from server.sinks.vmc import VmcSink, parse_target
from tests.support.paths import REPO

# What a frame was mapped from: the VMC sink never reads it (it sends the frame itself).
NO_INPUTS = InputSample(FaceFeatures.absent(0), VoiceFeatures.silent(0), 0.0)


def received(sock: socket.socket) -> list[tuple[str, list[Any]]]:
    data, _ = sock.recvfrom(65536)
    assert OscBundle.dgram_is_bundle(data)
    return [(m.address, list(m.params)) for m in OscBundle(data)]


@pytest.mark.parametrize("profile", PROFILES)
def test_a_frame_is_one_bundle_in_the_protocols_order_with_the_profiles_names(
    profile: str, smiling_frame: AvatarFrame, udp_receiver: socket.socket
) -> None:
    sink = VmcSink(udp_receiver.getsockname(), profile, Metrics(), calibrated=True)
    scores = np.zeros(len(EMOTIONS))
    scores[EMOTIONS.index("happy")] = 0.8
    sink.set_emotion_scores(scores)
    sink.on_frame(smiling_frame, FrameMeta("s1", 0, 0, None, NO_INPUTS, 1 / 30, 0.0))
    messages = received(udp_receiver)
    sink.close()
    addresses = [a for a, _ in messages]
    assert (
        addresses[:3] == ["/VMC/Ext/OK", "/VMC/Ext/T", "/VMC/Ext/Root/Pos"] and addresses[-1] == "/VMC/Ext/Blend/Apply"
    )
    assert messages[0][1] == [1, 3, 0, 1]  # loaded, calibrated, normal mode, tracking a face
    bones = {p[0]: p[1:] for a, p in messages if a == "/VMC/Ext/Bone/Pos"}
    assert set(bones) == {"Neck", "Head", "LeftEye", "RightEye"}
    by_bone = smiling_frame.rotations_by_bone()
    for ours, theirs in (("neck", "Neck"), ("head", "Head"), ("left_eye", "LeftEye")):
        # atol: float32 on the wire
        np.testing.assert_allclose(bones[theirs][3:], gltf_to_unity(by_bone[ours]), atol=1e-6)
    blends = [(p[0], p[1]) for a, p in messages if a == "/VMC/Ext/Blend/Val"]
    assert [n for n, _ in blends] == list(NAMES[profile]) and all(0 <= v <= 1 for _, v in blends)
    assert addresses.index("/VMC/Ext/Blend/Apply") > max(
        i for i, a in enumerate(addresses) if a == "/VMC/Ext/Blend/Val"
    )
    values = dict(blends)
    if profile in ("perfect_sync", "all"):
        weights = smiling_frame.weights_by_name()
        assert (
            values["MouthSmileLeft"] == pytest.approx(weights["mouthSmileLeft"], abs=1e-6)
            and values["MouthSmileLeft"] > 0.3
        )
    if profile in ("vrm0", "all"):
        assert values["Joy"] == pytest.approx(0.8, abs=1e-6)
    if profile in ("vrm1", "all"):
        assert values["happy"] == pytest.approx(0.8, abs=1e-6) and values["blinkLeft"] < 0.5


def test_the_conversion_to_unity_is_the_unity_clients_mirror_z() -> None:
    """unity_client/Runtime/Protocol/CoordinateConversion.cs: MirrorZ maps (x, y, z, w) to
    (-x, -y, z, w); the same turn of the head reads the same in both clients."""
    source = (REPO / "unity_client/Runtime/Protocol/CoordinateConversion.cs").read_text()
    assert "new Quat(-q.X, -q.Y, q.Z, q.W)" in source
    assert gltf_to_unity((0.1, 0.2, 0.3, 0.9)) == (-0.1, -0.2, 0.3, 0.9)


def test_misuse_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="profile"):
        VmcSink(("127.0.0.1", 39539), "vrm2", Metrics())
    assert parse_target("127.0.0.1:39540") == ("127.0.0.1", 39540) and parse_target("localhost") == ("localhost", 39539)
    for bad in ("", ":39539", "host:port", "host:70000"):
        with pytest.raises(ValueError):
            parse_target(bad)


def test_an_unreachable_receiver_never_blocks_and_is_counted(smiling_frame: AvatarFrame) -> None:
    metrics = Metrics()
    sink = VmcSink(("127.0.0.1", 9), "perfect_sync", metrics)  # the discard port: nobody listens
    for _ in range(200):
        sink.on_frame(smiling_frame, FrameMeta("s1", 0, 0, None, NO_INPUTS, 1 / 60, 0.0))
    sink.close()
    sent = metrics.registry.get_sample_value("avatar_driver_messages_out_total", {"type": "vmc_bundle"}) or 0
    dropped = metrics.registry.get_sample_value("avatar_driver_frames_dropped_total", {"reason": "vmc_unsent"}) or 0
    assert sent + dropped == 200
