"""Building a session from a hello: refusals with specific codes before anything runs, the
user's stored table applied, the parts the hello asks for and no others."""

from __future__ import annotations

import asyncio

import pytest

from calibration.table import CalibrationTable
from server.live.assemble import assemble_session, new_session_id
from server.live.face_stage import FaceStage
from server.live.speech_stage import SpeechStage
from server.live.voice_stage import VoiceStage
from server.protocol.codec import ProtocolError
from server.protocol.messages import Hello
from server.services import Services
from server.settings import Settings
from server.sinks.recorder import RecorderSink


def assemble(settings: Settings, payload: dict, before=None):
    async def scenario():
        services = await asyncio.to_thread(Services.open, settings)
        try:
            if before is not None:
                await before(services)
            session = await assemble_session(services, Hello.parse(payload, 30.0, 60.0))
            session.sinks_before_close = [type(s) for s in session.output.sinks]
            session.close()
            return session
        finally:
            services.close()

    return asyncio.run(scenario())


@pytest.mark.parametrize(
    "payload, code, message",
    [
        ({"rig": "nope"}, "bad_hello", "unknown rig 'nope'"),
        ({"strategy": "au_linear", "strategy_params": {"rows": 3}}, "bad_hello", "bad parameters"),
        ({"compare": {"strategy": "au_linear", "strategy_params": {"rows": 3}}}, "bad_hello", "bad parameters"),
    ],
)
def test_bad_hellos_are_refused_with_the_reason(settings, payload, code, message):
    with pytest.raises(ProtocolError, match=message) as e:
        assemble(settings, {"consent": {"camera": False}, **payload})
    assert e.value.code == code


def test_a_missing_model_is_named(settings, tmp_path):
    settings.models = tmp_path / "empty-models"
    with pytest.raises(ProtocolError, match="face_landmarker") as e:
        assemble(settings, {"consent": {"camera": True}})
    assert e.value.code == "model_missing"


def test_the_parts_follow_the_hello(settings):
    camera = assemble(settings, {"consent": {"camera": True}})
    assert [type(s) for s in camera.stages] == [FaceStage]
    both = assemble(settings, {"consent": {"camera": True, "microphone": True, "record": True}})
    assert [type(s) for s in both.stages] == [FaceStage, VoiceStage]  # no SenseVoice weights here: no speech stage
    assert RecorderSink in both.sinks_before_close and RecorderSink not in camera.sinks_before_close
    nothing = assemble(settings, {"consent": {"camera": False}, "compare": {"strategy": "hybrid"}})
    assert nothing.stages == () and nothing.config()["compare"] == {"strategy": "hybrid", "strategy_params": {}}
    assert len(new_session_id()) == 12 and new_session_id() != new_session_id()


def test_speech_recognition_joins_when_it_runs(settings, scripted_sensevoice):
    settings.sensevoice_dir = scripted_sensevoice
    session = assemble(settings, {"consent": {"microphone": True}})
    assert [type(s) for s in session.stages] == [VoiceStage, SpeechStage]


def test_the_users_stored_table_applies_from_the_first_frame(settings):
    table = CalibrationTable.from_dict(
        {**CalibrationTable.identity("ana").to_dict(), "head_neutral_deg": {"yaw": 4.0, "pitch": 0.0, "roll": 0.0}}
    )

    async def store(services):
        await services.publish_calibration(table)

    session = assemble(settings, {"consent": {"camera": False}, "user_id": "ana"}, before=store)
    assert session.calibration.table.head_neutral_deg == (4.0, 0.0, 0.0)
    assert session.output.mapper.calibration.head_neutral_deg == (4.0, 0.0, 0.0)
    assert session.config()["calibration_user_id"] == "ana"
