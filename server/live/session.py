"""A live session: one publisher's stages, time alignment, output and sinks, composed, and
the state it is in.

What the transport receives goes onto the bus (`submit_video`, `submit_audio`); the stages
answer on the bus; the session keeps the newest answers (avatar_mapping.latest_inputs), and
its output clock maps what they say at each tick and hands it to the sinks (the wire to the
publisher and its watchers, a recorder, the A/B variant). Everything here runs on the event
loop; the stages' threads never touch it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Protocol

from avatar_mapping.latest_inputs import LatestInputs, TimingOptions
from avatar_mapping.rig import RigDefinition
from avatar_mapping.strategies import Strategy
from calibration.wizard import CalibrationRun, WizardEvent

from ..inference.sensevoice import SpeechRecognition
from ..metrics import Metrics
from ..protocol.bus import BusMessage, FaceResult, ReceivedAudio, ReceivedVideo, StageError, Topic, VoiceResult
from ..protocol.constants import SessionState
from ..protocol.envelopes import now_ms
from ..protocol.messages import AudioChunk, Hello, VideoFrame
from ..sinks.base import FrameSink
from ..sinks.wire import WireSink
from .bus import Bus, Subscription
from .calibration import SessionCalibration
from .clock import OutputClock
from .output import AvatarOutput
from .session_config import SessionConfig, StrategyChoice
from .stage import SessionStage

log = logging.getLogger(__name__)


class SessionListener(Protocol):
    """What the session tells its controller besides the stream."""

    def on_stage_error(self, error: StageError) -> None: ...

    def on_wizard(self, run: CalibrationRun, events: list[WizardEvent]) -> None: ...

    def on_failure(self, task: str, error: BaseException) -> None:
        """One of the session's tasks failed: the session cannot go on."""

    def on_replaced(self) -> None:
        """A new connection took this session's name; the registry already closed the session."""


class Session:
    def __init__(
        self,
        session_id: str,
        hello: Hello,
        rig: RigDefinition,
        bus: Bus,
        metrics: Metrics,
        output: AvatarOutput,
        calibration: SessionCalibration,
        stages: Sequence[SessionStage],
        strategy: StrategyChoice,
    ):
        self.id = session_id
        self.hello = hello
        self.rig = rig
        self.bus = bus
        self.metrics = metrics
        self.output = output
        self.calibration = calibration
        calibration.on_wizard = self._on_wizard
        self.stages = tuple(stages)
        self.strategy = strategy
        self.compare: StrategyChoice | None = None
        self.wire = WireSink(metrics)
        output.add_sink(self.wire)
        self.state = SessionState.CREATED
        self.listener: SessionListener | None = None
        self.started_s = time.monotonic()
        self.inputs = LatestInputs(TimingOptions(delay_s=(hello.lipsync_delay_ms or 0.0) / 1000.0), self.started_s)
        self._clock = OutputClock(hello.rate_hz, self._tick, name=f"output-{session_id}")
        self._subscriptions: list[Subscription] = []
        self._unsent_face_s: float | None = None

    async def start(self) -> None:
        """Loads the stages' models, then runs: media is taken and the output clock ticks."""
        for stage in self.stages:
            await stage.start()
        for topic, handler in (
            (Topic.FACE, self._on_face),
            (Topic.VOICE, self._on_voice),
            (Topic.SPEECH, self._on_speech),
            (Topic.STAGE_ERROR, self._on_stage_error),
        ):
            self._subscriptions.append(self.bus.subscribe(self.id, topic, handler))
        tasks = [stage.task for stage in self.stages] + [self._clock.start()]
        for task in tasks:
            if task is not None:
                task.add_done_callback(self._on_task_done)
        self.state = SessionState.RUNNING

    def _on_task_done(self, task: asyncio.Task[None]) -> None:
        """Every task of a session runs until the session closes; one that ends otherwise has
        failed, and the session with it: logged, counted, and said to the controller."""
        if task.cancelled() or self.state in (SessionState.CLOSING, SessionState.CLOSED):
            return
        error = task.exception() or RuntimeError(f"{task.get_name()} ended")
        name = task.get_name().removesuffix(f"-{self.id}")
        log.error("session %s: its %s task failed", self.id, name, exc_info=error)
        self.metrics.session_failures.labels(name).inc()
        if self.listener is not None:
            self.listener.on_failure(name, error)

    # -- media in ----------------------------------------------------------------------------
    def submit_video(self, frame: VideoFrame) -> None:
        self.metrics.frames_in.labels("video").inc()
        self.bus.publish(self.id, ReceivedVideo(frame, time.monotonic()))

    def submit_audio(self, chunk: AudioChunk) -> None:
        self.metrics.frames_in.labels("audio").inc()
        self.bus.publish(self.id, ReceivedAudio(chunk))

    # -- what the stages say -----------------------------------------------------------------
    def _on_face(self, message: BusMessage) -> None:
        assert isinstance(message, FaceResult)
        dt_s = self.inputs.put_face(message.features, message.received_s)
        self._unsent_face_s = message.received_s
        self.calibration.observe_face(message.features, dt_s, time.monotonic())
        self._clock.kick()  # shown now, not at the next tick

    def _on_voice(self, message: BusMessage) -> None:
        assert isinstance(message, VoiceResult)
        now = time.monotonic()
        self.inputs.put_voice(message.features, now)
        self.calibration.observe_voice(message.mfcc, message.log_energy, now)

    def _on_speech(self, message: BusMessage) -> None:
        assert isinstance(message, SpeechRecognition)
        evidence = message.emotion_evidence() if message.present else None
        if evidence is not None:
            self.inputs.put_speech_emotion(evidence, time.monotonic())
        if message.present or message.final:
            self.output.transcript(message, now_ms())

    def _on_stage_error(self, message: BusMessage) -> None:
        assert isinstance(message, StageError)
        if self.listener is not None:
            self.listener.on_stage_error(message)

    def _on_wizard(self, run: CalibrationRun, events: list[WizardEvent]) -> None:
        if self.listener is not None:
            self.listener.on_wizard(run, events)

    def _tick(self, dt_s: float, now_s: float) -> None:
        self.output.tick(self.inputs.sample(now_s), dt_s, now_s - self.started_s, now_ms())
        if self._unsent_face_s is not None:
            self.metrics.stage_seconds.labels("frame_to_send").observe(time.monotonic() - self._unsent_face_s)
            self._unsent_face_s = None

    # -- configuration -----------------------------------------------------------------------
    def set_strategy(self, choice: StrategyChoice, strategy: Strategy) -> None:
        self.strategy = choice
        self.output.set_strategy(strategy)

    def set_compare(self, choice: StrategyChoice | None, strategy: Strategy | None) -> None:
        """A/B: ``strategy`` (the chosen one) maps every tick's inputs as variant B; None stops."""
        self.compare = choice
        self.output.set_compare(strategy, self.wire)

    def add_sink(self, sink: FrameSink) -> None:
        self.output.add_sink(sink)

    def config(self) -> SessionConfig:
        """The session's configuration beyond its hello, as it is now."""
        calibration = self.calibration
        return SessionConfig(
            self.strategy,
            self.compare,
            calibration.adaptive is not None,
            calibration.adaptive_frozen,
            calibration.user_id,
        )

    def close(self) -> None:
        """Stops the clock and the stages and closes the sinks (watchers are told). Synchronous,
        so it completes while the caller is being cancelled; safe when start() was interrupted."""
        if self.state == SessionState.CLOSED:
            return
        self.state = SessionState.CLOSING
        self._clock.close()
        for subscription in self._subscriptions:
            subscription.cancel()
        self._subscriptions.clear()
        for stage in self.stages:
            stage.close()
        self.output.close()
        self.state = SessionState.CLOSED
