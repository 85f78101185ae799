"""A session: composed parts, a state, the bus in and out, a clean close."""

import asyncio
import time

import numpy as np

from avatar_mapping.features import FaceFeatures
from server.live.bus import InProcessBus
from server.live.session_config import StrategyChoice
from server.protocol.bus import FaceResult, StageError, Topic
from server.protocol.constants import ErrorCode, SessionState
from server.protocol.messages import VideoFrame
from tests.support.fakes import Tally, make_session


class RecordingStage:
    """A stage that only records what the session asks of it (the real stages have their own tests)."""

    task = None

    def __init__(self):
        self.events = []

    async def start(self):
        self.events.append("start")

    def close(self):
        self.events.append("close")


class Listener:
    def __init__(self):
        self.errors, self.wizard = [], []

    def on_stage_error(self, error):
        self.errors.append(error)

    def on_wizard(self, run, events):
        self.wizard.append(events)


def test_a_session_runs_from_created_to_closed_and_leaves_nothing_subscribed():
    async def scenario():
        bus = InProcessBus()
        stage = RecordingStage()
        session = make_session(bus, [stage])
        listener = Listener()
        session.listener = listener
        tally = Tally()
        session.add_sink(tally)
        assert session.state == SessionState.CREATED
        await session.start()
        assert session.state == SessionState.RUNNING and stage.events == ["start"]
        seen = []
        bus.subscribe("s1", Topic.VIDEO, seen.append)
        session.submit_video(VideoFrame(5, image=b"jpeg"))
        assert seen[0].frame.capture_ms == 5 and abs(seen[0].received_s - time.monotonic()) < 0.5
        face = FaceFeatures.from_blendshapes(np.full(52, 0.4), 5)
        bus.publish("s1", FaceResult(face, time.monotonic()))
        bus.publish("s1", StageError("face", ErrorCode.BAD_IMAGE, "not an image"))
        await asyncio.sleep(0.1)
        session.close()
        session.close()  # idempotent
        return session, stage, tally, listener, bus

    session, stage, tally, listener, bus = asyncio.run(scenario())
    assert session.state == SessionState.CLOSED and stage.events == ["start", "close"]
    assert 3 <= len(tally.frames) <= 9 and tally.closed  # ~60 Hz for 0.1 s
    assert any(meta.inputs.face.present for _, meta in tally.frames)
    assert [e.code for e in listener.errors] == [ErrorCode.BAD_IMAGE]
    assert bus.subscriptions == 1  # only this test's own VIDEO subscription


def test_configuration_is_reported_as_welcome_and_configured_say_it():
    session = make_session(InProcessBus())
    from avatar_mapping.mapper import rig_context
    from avatar_mapping.strategies import make_strategy

    strategy = make_strategy("hybrid", rig_context(session.rig), {"accent": 0.5})
    session.set_strategy(StrategyChoice("hybrid", {"accent": 0.5}), strategy)
    preset = make_strategy("emotion_preset", rig_context(session.rig), {})
    session.set_compare(StrategyChoice("emotion_preset"), preset)
    assert session.config().to_wire() == {
        "strategy": "hybrid",
        "strategy_params": {"accent": 0.5},
        "adaptive": False,
        "adaptive_frozen": False,
        "calibration_user_id": None,
        "compare": {"strategy": "emotion_preset", "strategy_params": {}},
    }
    session.set_compare(None, None)
    assert session.config().compare is None


def test_closing_a_session_that_never_started_is_safe():
    stage = RecordingStage()
    session = make_session(InProcessBus(), [stage])
    session.close()
    assert session.state == SessionState.CLOSED and stage.events == ["close"]
