"""A session: composed parts, a state, the bus in and out, a clean close."""

import asyncio
import time

import numpy as np

from avatar_mapping.features import FaceFeatures
from calibration.wizard import CalibrationRun, WizardEvent
from server.live.bus import InProcessBus
from server.live.session import Session
from server.live.session_config import StrategyChoice
from server.protocol.bus import BusMessage, FaceResult, ReceivedVideo, StageError, Topic
from server.protocol.constants import ErrorCode, SessionState
from server.protocol.messages import VideoFrame
from tests.support.fakes import Tally, make_session


class RecordingStage:
    """A stage that only records what the session asks of it (the real stages have their own tests)."""

    name = "recording"
    task: asyncio.Task[None] | None = None

    def __init__(self) -> None:
        self.events: list[str] = []

    async def start(self) -> None:
        self.events.append("start")

    def close(self) -> None:
        self.events.append("close")


class Listener:
    def __init__(self) -> None:
        self.errors: list[StageError] = []
        self.wizard: list[list[WizardEvent]] = []

    def on_stage_error(self, error: StageError) -> None:
        self.errors.append(error)

    def on_wizard(self, run: CalibrationRun, events: list[WizardEvent]) -> None:
        self.wizard.append(events)

    # Not expected in these tests (a session's task failing, or another connection taking its name).
    def on_failure(self, task: str, error: BaseException) -> None:
        raise AssertionError(f"the session's {task} task failed: {error!r}")

    def on_replaced(self) -> None:
        raise AssertionError("the session was replaced")


def state_of(session: Session) -> SessionState:
    """The session's state now (mypy would keep ``session.state`` narrowed to what an earlier
    assert compared it with, across the calls that change it)."""
    return session.state


def test_a_session_runs_from_created_to_closed_and_leaves_nothing_subscribed() -> None:
    async def scenario() -> tuple[Session, RecordingStage, Tally, Listener, InProcessBus]:
        bus = InProcessBus()
        stage = RecordingStage()
        session = make_session(bus, [stage])
        listener = Listener()
        session.listener = listener
        tally = Tally()
        session.add_sink(tally)
        assert session.state == SessionState.CREATED
        await session.start()
        assert state_of(session) == SessionState.RUNNING and stage.events == ["start"]
        seen: list[BusMessage] = []
        bus.subscribe("s1", Topic.VIDEO, seen.append)
        session.submit_video(VideoFrame(5, image=b"jpeg"))
        assert isinstance(seen[0], ReceivedVideo)
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


def test_configuration_is_reported_as_welcome_and_configured_say_it() -> None:
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


def test_closing_a_session_that_never_started_is_safe() -> None:
    stage = RecordingStage()
    session = make_session(InProcessBus(), [stage])
    session.close()
    assert session.state == SessionState.CLOSED and stage.events == ["close"]
