"""Golden protocol fixtures: the bytes on the wire are stable and decode to the documented values."""

import json

import cbor2
import numpy as np
import pytest

from server.inference.input_frame import decode_image
from server.protocol.codec import decode
from server.protocol.packed import unpack_avatar_frame
from tests.support.golden import from_tagged, messages
from tests.support.paths import GOLDEN

NAMES = sorted(p.stem for p in GOLDEN.glob("*.cbor"))
# Quantisation of the packed format, the tolerance every client's test uses.
PACKED_WEIGHT_TOLERANCE = 1 / 65535
PACKED_QUAT_TOLERANCE = 1 / 32767 * 2
PACKED_ANGLE_TOLERANCE_DEG = 0.005
PACKED_MAX_BYTES = 200


def test_every_message_type_has_a_fixture() -> None:
    types = {json.loads((GOLDEN / f"{n}.json").read_text()).get("type") for n in NAMES}
    assert {
        "hello",
        "video_frame",
        "audio_chunk",
        "bye",
        "welcome",
        "avatar_frame",
        "emotion_update",
        "error",
        "configure",
        "configured",
        "calibration_start",
        "calibration_step",
        "calibration_result",
    } <= types
    assert "avatar_frame_packed" in NAMES


@pytest.mark.parametrize("name", NAMES)
def test_fixture_decodes_to_its_json(name: str) -> None:
    assert cbor2.loads((GOLDEN / f"{name}.cbor").read_bytes()) == from_tagged(
        json.loads((GOLDEN / f"{name}.json").read_text())
    )


@pytest.mark.parametrize("name", NAMES)
def test_encoder_still_produces_the_fixture_bytes(name: str) -> None:
    assert cbor2.dumps(messages()[name]) == (GOLDEN / f"{name}.cbor").read_bytes(), (
        f"{name} changed on the wire: update docs/protocol.md, then `make golden`"
    )


@pytest.mark.parametrize(
    "name",
    [
        "hello",
        "video_frame",
        "audio_chunk",
        "bye",
        "configure",
        "calibration_start",
        "calibration_step_cancel",
        "configure_compare",
    ],
)
def test_client_fixtures_pass_the_server_decoder(name: str) -> None:
    env, encoding = decode((GOLDEN / f"{name}.cbor").read_bytes())
    assert env.type == json.loads((GOLDEN / f"{name}.json").read_text())["type"] and encoding == "cbor"


def test_fixture_image_is_a_real_png() -> None:
    env, _ = decode((GOLDEN / "video_frame.cbor").read_bytes())
    f = decode_image(env.payload["image"], env.payload["capture_ms"], 100)
    assert f.rgb.tolist() == [[[255, 0, 0], [0, 255, 0]], [[0, 0, 255], [255, 255, 255]]]


def test_packed_frame_is_small_and_matches_the_named_frame() -> None:
    packed_bytes = (GOLDEN / "avatar_frame_packed.cbor").read_bytes()
    assert len(packed_bytes) <= PACKED_MAX_BYTES
    welcome = cbor2.loads((GOLDEN / "welcome.cbor").read_bytes())["payload"]
    named = cbor2.loads((GOLDEN / "avatar_frame_named.cbor").read_bytes())
    unpacked = unpack_avatar_frame(cbor2.loads(packed_bytes), welcome["channels"], welcome["bones"])
    assert len(welcome["channels"]) == 52 and len(welcome["bones"]) == 4
    for k in ("type", "session_id", "timestamp_ms", "sequence"):
        assert unpacked[k] == named[k]
    a, b = unpacked["payload"], named["payload"]
    for ch in welcome["channels"]:
        assert a["blendshapes"][ch] == pytest.approx(b["blendshapes"][ch], abs=PACKED_WEIGHT_TOLERANCE)
    for bone in welcome["bones"]:
        assert np.allclose(a["bone_transforms"][bone], b["bone_transforms"][bone], atol=PACKED_QUAT_TOLERANCE)
    for k in ("head_yaw_deg", "head_pitch_deg", "head_roll_deg"):
        assert a["bone_transforms"][k] == pytest.approx(b["bone_transforms"][k], abs=PACKED_ANGLE_TOLERANCE_DEG)
    assert a["viseme"] == b["viseme"] and a["face_present"] == b["face_present"]
    assert a["capture_ms"] == b["capture_ms"]


def test_variant_b_frame_says_so_in_both_forms() -> None:
    welcome = cbor2.loads((GOLDEN / "welcome.cbor").read_bytes())["payload"]
    packed = cbor2.loads((GOLDEN / "avatar_frame_packed_variant_b.cbor").read_bytes())
    assert len((GOLDEN / "avatar_frame_packed_variant_b.cbor").read_bytes()) <= PACKED_MAX_BYTES
    assert unpack_avatar_frame(packed, welcome["channels"], welcome["bones"])["payload"]["variant"] == "B"
    assert cbor2.loads((GOLDEN / "avatar_frame_named_variant_b.cbor").read_bytes())["payload"]["variant"] == "B"


def test_the_webrtc_offer_fixture_is_what_the_offer_endpoint_reads() -> None:
    from server.protocol.messages import Hello, WebRtcOffer

    offer = WebRtcOffer.parse(json.loads((GOLDEN / "webrtc_offer.json").read_text()))
    hello = Hello.parse(offer.hello, 30.0, 60.0)
    assert offer.sdp.startswith("v=0\r\n") and "webrtc-datachannel" in offer.sdp and hello.camera and hello.microphone
