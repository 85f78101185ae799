"""One client's side of the protocol, transport-free: raw messages in, replies, events and the
session's stream out through the client's channel.

A transport calls `receive` with each message it gets (bytes: CBOR, text: JSON), waits for
the next one at most `wait_s` (then calls `timed_out`), stops when `close_code` is set
(closing with that code; `stopped` is set too, for a close the client did not cause), and
calls `end` when the client is gone. It never looks inside a message. Every bad message gets
a specific error and the session goes on, until the client exceeds the error limit; a client
that sends no hello within `hello_timeout_s` is closed.

Where the session's stream goes is the deployment's: by default the client's own channel
subscribes to the session's wire sink; a cluster worker passes ``attach_stream`` to publish
it once per format on the bus instead (server/cluster/worker.py), and may ``reclaim`` a
session another worker held (same id, the sequence going on).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from avatar_mapping.strategies import Strategy
from calibration.wizard import ALL_STEPS, STEPS, VOICE_STEPS, CalibrationRun, WizardEvent, WizardState

from ..access import token_ok
from ..limits import RateLimiter, ViolationWindow
from ..protocol import envelopes
from ..protocol.bus import StageError
from ..protocol.codec import Encoding, Envelope, ProtocolError, decode
from ..protocol.constants import CloseCode, ErrorCode, MessageType
from ..protocol.envelopes import Outgoing
from ..protocol.messages import AudioChunk, CalibrationStart, Configure, Hello, VideoFrame
from ..sinks.outbox import ClientChannel
from ..sinks.wire import Subscriber
from .assemble import assemble_session
from .registry import SessionLimitReached
from .session import Session

if TYPE_CHECKING:
    from ..services import Services

log = logging.getLogger(__name__)
_FACE_STEPS = tuple(s.name for s in STEPS)
_VOICE_STEPS = tuple(s.name for s in VOICE_STEPS)
AttachStream = Callable[[Session, Subscriber], None]


@dataclass(frozen=True)
class Reclaim:
    """A session taken over from a worker that was lost: its id, where its sequence goes on,
    and the configuration it had (strategy, comparison) beyond its hello."""

    session_id: str
    next_sequence: int = 0
    config: dict[str, Any] = field(default_factory=dict)


def _attach_to_wire(session: Session, subscriber: Subscriber) -> None:
    session.wire.subscribe(subscriber)


class SessionController:
    def __init__(
        self,
        services: Services,
        channel: ClientChannel,
        attach_stream: AttachStream = _attach_to_wire,
        resume_token: str | None = None,
        reclaim: Reclaim | None = None,
    ):
        self.services = services
        self.settings = services.settings
        self.channel = channel
        self.attach_stream = attach_stream
        self.resume_token = resume_token  # given in welcome where sessions outlive connections
        self.reclaim = reclaim
        self.on_config: Callable[[Session], None] = lambda session: None
        self.encoding: Encoding = "cbor"
        self.session: Session | None = None
        self.close_code: CloseCode | None = None
        self._rate = RateLimiter(self.settings.max_messages_per_s)
        self._violations = ViolationWindow(self.settings.max_errors, self.settings.error_window_s)
        self._tasks: set[asyncio.Task] = set()
        self._hello_deadline = time.monotonic() + self.settings.hello_timeout_s
        self.stopped = asyncio.Event()

    @property
    def wait_s(self) -> float | None:
        """How long the transport may wait for the next message: until the hello deadline
        before a session, without limit after (media may pause; keepalive is the transport's)."""
        return None if self.session is not None else max(0.0, self._hello_deadline - time.monotonic())

    def timed_out(self) -> None:
        """No message within `wait_s`."""
        if self.session is None and self.close_code is None:
            self.send_error(ErrorCode.HELLO_TIMEOUT, f"no hello within {self.settings.hello_timeout_s:g} s; closing")
            self._close(CloseCode.HELLO_TIMEOUT)

    def _close(self, code: CloseCode) -> None:
        self.close_code = code
        self.stopped.set()

    async def receive(self, data: bytes | str) -> None:
        """One message from the client, whole. Never raises for what the client sent."""
        if self.session is None:  # until hello, reply in the encoding the client used
            self.encoding = "json" if isinstance(data, str) else "cbor"
        try:
            self._check_limits(data)
            envelope, encoding = decode(data)
            await self._handle(envelope, encoding)
        except ProtocolError as e:
            self.send_error(e.code, e.message)
            if e.code == ErrorCode.AUTH_FAILED:
                self._close(CloseCode.POLICY)
            elif self._violations.add():
                self.send_error(
                    ErrorCode.TOO_MANY_ERRORS,
                    f"{self._violations.max_count} bad messages within {self._violations.window_s:g} s; closing",
                )
                self._close(CloseCode.TOO_BIG if e.code == ErrorCode.TOO_LARGE else CloseCode.POLICY)

    def end(self) -> None:
        """The client is gone (or is being closed): its session ends. Idempotent, synchronous.
        A calibration being saved is still saved and applied to the user's other sessions."""
        if self.session is not None:
            session, self.session = self.session, None
            self.services.registry.close(session.id)

    # -- dispatch -----------------------------------------------------------------------------
    def _check_limits(self, data: bytes | str) -> None:
        size, s = len(data), self.settings
        if size > s.max_message_bytes:
            raise ProtocolError(
                ErrorCode.TOO_LARGE, f"message of {size} bytes is over the limit of {s.max_message_bytes} bytes"
            )
        if not self._rate.allow():
            raise ProtocolError(
                ErrorCode.RATE_LIMITED, f"more than {s.max_messages_per_s:g} messages per second; message dropped"
            )

    async def _handle(self, env: Envelope, encoding: Encoding) -> None:
        kind = env.type
        if kind == MessageType.BYE:
            self._close(CloseCode.NORMAL)
            return
        if kind == MessageType.RESUME:
            raise ProtocolError(
                ErrorCode.RESUME_FAILED,
                "this server keeps no session across connections; send hello to start a new one",
            )
        if kind == MessageType.HELLO:
            if self.session is not None:
                raise ProtocolError(ErrorCode.BAD_HELLO, "hello was already received for this session")
            await self._start(env)
            return
        if kind not in (
            MessageType.VIDEO_FRAME,
            MessageType.AUDIO_CHUNK,
            MessageType.CONFIGURE,
            MessageType.CALIBRATION_START,
            MessageType.CALIBRATION_STEP,
        ):
            raise ProtocolError(
                ErrorCode.UNKNOWN_TYPE,
                f"unknown message type {kind[:40]!r}; expected hello, "
                "video_frame, audio_chunk, configure, calibration_start, calibration_step or bye",
            )
        session = self.session
        if session is None:
            raise ProtocolError(ErrorCode.NO_HELLO, f"{kind} before hello: send hello with consent first")
        if kind == MessageType.VIDEO_FRAME:
            if not session.hello.camera:
                raise ProtocolError(ErrorCode.NO_CONSENT, "video_frame without camera consent: frame discarded")
            session.submit_video(VideoFrame.parse(env.payload, encoding, envelopes.now_ms()))
        elif kind == MessageType.AUDIO_CHUNK:
            if not session.hello.microphone:
                raise ProtocolError(ErrorCode.NO_CONSENT, "audio_chunk without microphone consent: chunk discarded")
            session.submit_audio(AudioChunk.parse(env.payload, encoding, envelopes.now_ms()))
        elif kind == MessageType.CONFIGURE:
            self._configure(session, Configure.parse(env.payload))
        elif kind == MessageType.CALIBRATION_START:
            self._start_calibration(session, CalibrationStart.parse(env.payload, _FACE_STEPS, _VOICE_STEPS))
        elif env.payload.get("action") == "cancel":
            session.calibration.cancel_wizard()
        else:
            raise ProtocolError(ErrorCode.BAD_CALIBRATION, "calibration_step from a client takes {action: 'cancel'}")

    async def _start(self, env: Envelope) -> None:
        s = self.settings
        hello = Hello.parse(env.payload, s.default_rate_hz, s.max_rate_hz)
        if not token_ok(s.token, hello.token):
            raise ProtocolError(ErrorCode.AUTH_FAILED, "hello has a missing or wrong token")
        registry = self.services.registry
        if hello.session_name is not None and (replaced := registry.take_over(hello.session_name)) is not None:
            if replaced.listener is not None:
                replaced.listener.on_replaced()
        try:
            reservation = registry.reserve()
        except SessionLimitReached as e:
            raise ProtocolError(ErrorCode.SERVER_BUSY, str(e)) from None
        with reservation:
            reclaim = self.reclaim
            session = await assemble_session(self.services, hello, reclaim.session_id if reclaim else None)
            session.listener = self
            try:
                if reclaim is not None:
                    self._reconfigure(session, reclaim.config)
                    session.output.continue_from(reclaim.next_sequence)
                await session.start()
            except BaseException:
                session.close()
                raise
            if registry.get(session.id) is not None:  # the name was taken again while this one started
                session.close()
                raise ProtocolError(
                    ErrorCode.BAD_HELLO,
                    f"session_name {session.id!r} was taken by another connection meanwhile; try again",
                )
            self.session = session
            adopted = reservation.fill(session)
        info = self.services.session_info(session)
        extra = {"resume_token": self.resume_token} if self.resume_token else {}
        self._send(envelopes.welcome(info, {**session.config(), **extra}))
        for watcher in adopted:  # watchers of the name, back from session_paused
            watcher.channel.put_control(
                envelopes.welcome(info, watching_format=watcher.format).encoded("named", watcher.encoding)
            )
        self.attach_stream(session, Subscriber(self.channel, hello.format, self.encoding))
        self.on_config(session)
        log.info(
            "session %s started: rig=%s format=%s rate=%g Hz camera=%s microphone=%s",
            session.id,
            hello.rig,
            hello.format,
            hello.rate_hz,
            hello.camera,
            hello.microphone,
        )

    # -- media that arrived decoded (WebRTC tracks), not as messages ----------------------------
    def wants(self, medium: str) -> bool:
        """Whether a ``medium`` ("video", "audio") item would be taken now: the session runs
        and its hello consented to it. A transport asks before converting; what it would not
        take is counted as dropped."""
        session = self.session
        if session is not None and (session.hello.camera if medium == "video" else session.hello.microphone):
            return True
        self.services.metrics.dropped.labels("no_consent" if session is not None else "no_session").inc()
        return False

    def submit_media(self, item: VideoFrame | AudioChunk) -> None:
        """A frame or chunk a media track delivered, into the session (after `wants`)."""
        session = self.session
        if isinstance(item, VideoFrame):
            if session is not None and session.hello.camera:
                session.submit_video(item)
        elif session is not None and session.hello.microphone:
            session.submit_audio(item)

    def _configure(self, session: Session, cfg: Configure) -> None:
        if cfg.strategy is not None or cfg.strategy_params is not None:
            name = cfg.strategy or session.strategy_name
            params = (
                cfg.strategy_params
                if cfg.strategy_params is not None
                else (session.strategy_params if cfg.strategy is None else {})
            )
            session.set_strategy(name, params, self._strategy(session, name, params))
        session.calibration.set_adaptive(cfg.adaptive, cfg.adaptive_frozen)
        if cfg.compare is not None:
            c = cfg.compare
            session.set_compare(c.strategy, c.strategy_params, self._strategy(session, c.strategy, c.strategy_params))
        elif cfg.stop_compare:
            session.set_compare(None, None, None)
        self._send(envelopes.configured(session.config(), session.id))
        self.on_config(session)

    def _reconfigure(self, session: Session, config: dict[str, Any]) -> None:
        """The strategy and comparison a reclaimed session had (from its config record)."""
        if config.get("strategy"):
            params = config.get("strategy_params") or {}
            session.set_strategy(config["strategy"], params, self._strategy(session, config["strategy"], params))
        compare = config.get("compare")
        if compare:
            params = compare.get("strategy_params") or {}
            session.set_compare(compare["strategy"], params, self._strategy(session, compare["strategy"], params))

    def _strategy(self, session: Session, name: str, params: dict) -> Strategy:
        try:
            return self.services.strategies.make(name, session.rig, params)
        except ValueError as e:
            raise ProtocolError(ErrorCode.BAD_CONFIGURE, str(e)) from None

    def _start_calibration(self, session: Session, request: CalibrationStart) -> None:
        hello = session.hello
        if request.steps is not None:
            steps = tuple(s for s in ALL_STEPS if s.name in request.steps)
        else:  # face steps with a camera, voice steps with a microphone
            steps = (STEPS if hello.camera else ()) + (VOICE_STEPS if hello.microphone else ())
        if not steps:
            raise ProtocolError(ErrorCode.NO_CONSENT, "calibration needs camera or microphone consent")
        if any(s.viseme is None for s in steps) and not hello.camera:
            raise ProtocolError(ErrorCode.NO_CONSENT, "the face steps of the calibration need camera consent")
        if any(s.viseme is not None for s in steps) and not hello.microphone:
            raise ProtocolError(ErrorCode.NO_CONSENT, "the voice steps of the calibration need microphone consent")
        user_id = request.user_id or hello.user_id
        if user_id is None:
            raise ProtocolError(
                ErrorCode.BAD_CALIBRATION, "calibration needs a user_id (in hello or calibration_start)"
            )
        if session.calibration.run is not None:
            raise ProtocolError(ErrorCode.BAD_CALIBRATION, "a calibration is already running; cancel it first")
        session.calibration.start_wizard(steps, request.prepare_s, request.duration_scale, user_id, time.monotonic())

    # -- what the session says ----------------------------------------------------------------
    def on_stage_error(self, error: StageError) -> None:
        self.send_error(error.code, error.message)

    def on_failure(self, task: str, error: BaseException) -> None:
        self.send_error(
            ErrorCode.INTERNAL_ERROR,
            f"the session stopped: its {task} failed "
            f"({type(error).__name__}); it was logged. Reconnect to start a new session.",
        )
        self._close(CloseCode.INTERNAL_ERROR)

    def on_replaced(self) -> None:
        self.session = None  # the registry closed it; the name now belongs to the new connection
        self._close(CloseCode.REPLACED)

    def on_wizard(self, run: CalibrationRun, events: list[WizardEvent]) -> None:
        sid = self.session.id if self.session else None
        for event in events:
            self._send(envelopes.calibration_step(event, sid))
            if event.state == WizardState.DONE and run.table is not None:
                task = asyncio.create_task(self._save_calibration(run))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            elif event.state == WizardState.FAILED:
                self._send(envelopes.calibration_failed(run.user_id, run.failure, sid))

    async def _save_calibration(self, run: CalibrationRun) -> None:
        version = await self.services.publish_calibration(run.table)
        self._send(
            envelopes.calibration_saved(
                run.user_id,
                version,
                run.table.steps,
                run.skipped,
                run.table.to_dict(),
                self.session.id if self.session else None,
            )
        )

    # -- replies --------------------------------------------------------------------------------
    def send_error(self, code: ErrorCode, message: str) -> None:
        self.services.metrics.client_errors.labels(str(code)).inc()
        self._send(envelopes.error(code, message, self.session.id if self.session else None))

    def _send(self, message: Outgoing) -> None:
        self.channel.put_control(message.encoded("named", self.encoding))
