"""Building a session from a hello: refusals with specific codes before anything runs, the
user's stored table applied, the parts the hello asks for and no others."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from calibration.table import CalibrationTable
from server.inference.speech_service import SpeechService
from server.live.assemble import new_session_id
from server.live.face_stage import FaceStage
from server.live.ports import LivePorts
from server.live.session import Session
from server.live.speech_stage import SpeechStage
from server.live.voice_stage import VoiceStage
from server.protocol.codec import ProtocolError
from server.protocol.messages import Hello
from server.settings import Settings
from server.sinks.recorder import RecorderSink
from tests.support.fakes import live_ports


def assemble(
    settings: Settings,
    payload: dict[str, Any],
    table: CalibrationTable | None = None,
    speech: SpeechService | None = None,
) -> tuple[Session, list[type]]:
    """The session a hello gets (closed again) and the types of its sinks while it was open;
    ``table`` is stored for its user first."""

    async def scenario() -> tuple[Session, list[type]]:
        ports: LivePorts = live_ports(settings, speech=speech)
        if table is not None:
            await ports.calibration.publish_calibration(table)
        session = await ports.sessions.assemble(Hello.parse(payload, 30.0, 60.0))
        sinks = [type(s) for s in session.output.sinks]
        session.close()
        return session, sinks

    return asyncio.run(scenario())


@pytest.mark.parametrize(
    "payload, code, message",
    [
        ({"rig": "nope"}, "bad_hello", "unknown rig 'nope'"),
        ({"strategy": "au_linear", "strategy_params": {"rows": 3}}, "bad_hello", "bad parameters"),
        ({"compare": {"strategy": "au_linear", "strategy_params": {"rows": 3}}}, "bad_hello", "bad parameters"),
    ],
)
def test_bad_hellos_are_refused_with_the_reason(
    settings: Settings, payload: dict[str, Any], code: str, message: str
) -> None:
    with pytest.raises(ProtocolError, match=message) as e:
        assemble(settings, {"consent": {"camera": False}, **payload})
    assert e.value.code == code


def test_a_missing_model_is_named(settings: Settings, tmp_path: Path) -> None:
    settings.models = tmp_path / "empty-models"
    with pytest.raises(ProtocolError, match="face_landmarker") as e:
        assemble(settings, {"consent": {"camera": True}})
    assert e.value.code == "model_missing"


def test_the_parts_follow_the_hello(settings: Settings) -> None:
    camera, camera_sinks = assemble(settings, {"consent": {"camera": True}})
    assert [type(s) for s in camera.stages] == [FaceStage]
    both, both_sinks = assemble(settings, {"consent": {"camera": True, "microphone": True, "record": True}})
    assert [type(s) for s in both.stages] == [FaceStage, VoiceStage]  # speech recognition off: no speech stage
    assert RecorderSink in both_sinks and RecorderSink not in camera_sinks
    nothing, _ = assemble(settings, {"consent": {"camera": False}, "compare": {"strategy": "hybrid"}})
    assert nothing.stages == () and nothing.config().to_wire()["compare"] == {
        "strategy": "hybrid",
        "strategy_params": {},
    }
    assert len(new_session_id()) == 12 and new_session_id() != new_session_id()


def test_speech_recognition_joins_when_it_runs(settings: Settings, scripted_sensevoice: Path) -> None:
    speech = SpeechService(scripted_sensevoice)
    assert speech.load().available
    try:
        session, _ = assemble(settings, {"consent": {"microphone": True}}, speech=speech)
    finally:
        speech.close()
    assert [type(s) for s in session.stages] == [VoiceStage, SpeechStage]


def test_the_users_stored_table_applies_from_the_first_frame(settings: Settings) -> None:
    table = CalibrationTable.from_dict(
        {**CalibrationTable.identity("ana").to_dict(), "head_neutral_deg": {"yaw": 4.0, "pitch": 0.0, "roll": 0.0}}
    )

    session, _ = assemble(settings, {"consent": {"camera": False}, "user_id": "ana"}, table)
    assert session.calibration.table.head_neutral_deg == (4.0, 0.0, 0.0)
    assert session.output.mapper.calibration.head_neutral_deg == (4.0, 0.0, 0.0)
    assert session.config().calibration_user_id == "ana"
