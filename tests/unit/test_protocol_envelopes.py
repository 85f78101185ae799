"""What the server sends, built in one place: envelopes, payloads, encode-once messages."""

import json
from dataclasses import replace
from typing import Any

import cbor2

from avatar_mapping.features import FaceFeatures
from calibration.wizard import WizardEvent, WizardState
from server.protocol import envelopes
from server.protocol.constants import ErrorCode, MessageType, PackedKey, PackedType, Variant
from server.protocol.messages import Hello
from tests.support.golden import SESSION, T0, avatar_frame, emotion_report
from tests.support.rigs import load_rig


def test_a_message_is_built_once_and_encoded_once_per_form() -> None:
    built: list[int] = []

    def named() -> dict[str, Any]:
        built.append(1)
        return envelopes.envelope(MessageType.ERROR, {"x": 1}, SESSION, None, T0)

    m = envelopes.Outgoing(MessageType.ERROR, named)
    a, b = m.encoded("named", "cbor"), m.encoded("packed", "cbor")  # no packed form: the named one
    assert a is b and len(built) == 1
    assert json.loads(m.encoded("named", "json"))["payload"] == {"x": 1} and len(built) == 1


def test_avatar_frames_in_both_forms_and_variants() -> None:
    frame = avatar_frame(load_rig("arkit52"))
    m = envelopes.avatar_frame(frame, SESSION, T0, 7, Variant.B)
    named, packed = cbor2.loads(m.encoded("named", "cbor")), cbor2.loads(m.encoded("packed", "cbor"))
    assert named["type"] == "avatar_frame" and named["sequence"] == 7 and named["payload"]["variant"] == "B"
    assert packed[PackedKey.TYPE] == PackedType.AVATAR_FRAME and packed[PackedKey.SEQUENCE] == 7
    assert "variant" not in envelopes.avatar_frame_payload(frame)


def test_emotion_update_renders_the_report_as_documented() -> None:
    p = envelopes.emotion_update_payload(emotion_report())
    assert p["emotion"] == "happy" and p["scores"]["happy"] == 0.71875 and p["gaze"] == {"x": 0.08749, "y": -0.03929}
    assert p["eyes"]["left"] == {"yaw_deg": 6.0, "pitch_deg": -2.0, "blink": p["eyes"]["left"]["blink"]}
    assert [e["source"] for e in p["speech_emotion"]] == ["sensevoice", "prosody"]
    assert p["speech_emotion"][0]["emotion"] == "happy" and p["speech_emotion"][1]["scores"] is None


def test_emotion_update_says_how_many_faces_the_frame_had() -> None:
    """Issue 25, item 10: two people in view, the larger one tracked: a client is told there were two."""
    report = emotion_report()
    two = replace(report, face=replace(report.face, faces_seen=2))
    assert envelopes.emotion_update_payload(two)["faces_seen"] == 2
    assert envelopes.emotion_update_payload(replace(report, face=FaceFeatures.absent(T0)))["faces_seen"] == 0


def test_wizard_events_leave_out_what_they_do_not_carry() -> None:
    done = envelopes.calibration_step_payload(WizardEvent(WizardState.DONE, None, 11, 11))
    assert done == {"state": "done", "step": None, "index": 11, "count": 11}
    prepare = envelopes.calibration_step_payload(
        WizardEvent(WizardState.PREPARE, "smile", 1, 11, "Smile.", 2.0, 1, remaining_s=1.5)
    )
    assert list(prepare) == ["state", "step", "index", "count", "instruction", "duration_s", "attempt", "remaining_s"]


def test_replies_carry_the_session_and_a_wall_clock_timestamp() -> None:
    before = envelopes.now_ms()
    e = envelopes.error(ErrorCode.NO_HELLO, "hello first", None).named
    assert e["type"] == "error" and e["payload"] == {"code": "no_hello", "message": "hello first"}
    assert e["session_id"] is None and e["sequence"] is None and e["timestamp_ms"] >= before
    failed = envelopes.calibration_failed("u", "no face", SESSION).named
    assert failed["payload"] == {"user_id": "u", "status": "failed", "reason": "no face"}


def test_a_watchers_welcome_says_it_watches_in_its_own_format() -> None:
    rig = load_rig("arkit52")
    hello = Hello.parse({"consent": {"camera": True}, "format": "named"}, 30.0, 60.0)
    info = envelopes.SessionInfo(SESSION, hello, rig.channel_names, rig.bone_names, 10.0, {}, "0.1.0")
    publisher = envelopes.welcome(info, {"strategy": "direct"}).named["payload"]
    watcher = envelopes.welcome(info, watching_format="packed").named["payload"]
    assert publisher["format"] == "named" and "watching" not in publisher and publisher["strategy"] == "direct"
    assert watcher["format"] == "packed" and watcher["watching"] is True and watcher["session_id"] == SESSION


def test_a_welcome_names_the_stored_avatar_of_the_sessions_rig_and_only_then() -> None:
    """Issue 25 item 2: watchers and OBS overlays drew the default head; the welcome now says
    where the publisher's avatar file is (every watcher's welcome too), and nothing for a rig
    without one."""
    rig = load_rig("arkit52")
    hello = Hello.parse({"consent": {"camera": True}, "format": "named"}, 30.0, 60.0)
    url = "/v1/rigs/mine/avatar?v=0123456789abcdef"
    info = envelopes.SessionInfo(SESSION, hello, rig.channel_names, rig.bone_names, 10.0, {}, "0.1.0", url)
    assert envelopes.welcome(info).named["payload"][envelopes.WELCOME_AVATAR_URL] == url
    assert envelopes.welcome(info, watching_format="packed").named["payload"]["avatar_url"] == url
    bare = envelopes.SessionInfo(SESSION, hello, rig.channel_names, rig.bone_names, 10.0, {}, "0.1.0")
    assert "avatar_url" not in envelopes.welcome(bare).named["payload"]
