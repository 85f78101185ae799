"""One client's side of the protocol, transport-free: raw messages in, replies, events and the
session's stream out through the client's channel.

A transport drives it as a `Connection` (ports.py): `receive` with each message (bytes: CBOR,
text: JSON), wait for the next one at most `wait_s` (then `timed_out`), stop when
`close_code` is set, `end` when the client is gone. It never looks inside a message. Every
bad message gets a specific error and the session goes on, within the connection's limits
(connection_guard.py).

Where the session's stream goes is the deployment's: by default the client's own channel
subscribes to the session's wire sink; a cluster worker passes ``attach_stream`` to publish
it once per format on NATS instead (server/cluster/worker.py), and may ``reclaim`` a session
another worker held (same id, the sequence going on, its configuration restored).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from calibration.wizard import CalibrationRun, WizardEvent, WizardState

from ..access import token_ok
from ..protocol import envelopes
from ..protocol.bus import StageError
from ..protocol.codec import Encoding, Envelope, ProtocolError, decode
from ..protocol.constants import CloseCode, ErrorCode, MessageType
from ..protocol.envelopes import Outgoing
from ..protocol.messages import AudioChunk, Hello, VideoFrame
from ..sinks.outbox import ClientChannel
from ..sinks.wire import Subscriber
from . import session_requests
from .connection_guard import ConnectionGuard, Refusal
from .ports import LivePorts
from .registry import NameTaken, SessionLimitReached
from .session import Session
from .session_config import SessionConfig

log = logging.getLogger(__name__)
AttachStream = Callable[[Session, Subscriber], None]


@dataclass(frozen=True)
class Reclaim:
    """A session taken over from a worker that was lost: its id, where its sequence goes on,
    and the configuration it had beyond its hello (None: the hello's)."""

    session_id: str
    next_sequence: int = 0
    config: SessionConfig | None = None


def _attach_to_wire(session: Session, subscriber: Subscriber) -> None:
    session.wire.subscribe(subscriber)


class SessionController:
    def __init__(
        self,
        ports: LivePorts,
        channel: ClientChannel,
        attach_stream: AttachStream = _attach_to_wire,
        resume_token: str | None = None,
        reclaim: Reclaim | None = None,
    ):
        self.ports = ports
        self.channel = channel
        self.attach_stream = attach_stream
        self.resume_token = resume_token  # given in welcome where sessions outlive connections
        self.reclaim = reclaim
        self.on_config: Callable[[Session], None] = lambda session: None
        self.encoding: Encoding = "cbor"
        self.session: Session | None = None
        self.close_code: CloseCode | None = None
        self.guard = ConnectionGuard(ports.limits)
        self._tasks: set[asyncio.Task[None]] = set()
        self.stopped = asyncio.Event()

    @property
    def wait_s(self) -> float | None:
        return self.guard.wait_s(started=self.session is not None)

    def timed_out(self) -> None:
        """No message within `wait_s`."""
        if self.session is None and self.close_code is None:
            self._refuse(self.guard.hello_overdue())

    async def receive(self, data: bytes | str) -> None:
        """One message from the client, whole. Never raises for what the client sent."""
        if self.session is None:  # until hello, reply in the encoding the client used
            self.encoding = "json" if isinstance(data, str) else "cbor"
        try:
            self.guard.check(data)
            envelope, encoding = decode(data)
            await self._handle(envelope, encoding)
        except ProtocolError as e:
            self._refuse(self.guard.refuse(e))

    def end(self) -> None:
        """The client is gone (or is being closed): its session ends. Idempotent, synchronous.
        A calibration being saved is still saved and applied to the user's other sessions."""
        if self.session is not None:
            session, self.session = self.session, None
            self.ports.registry.close(session.id)

    # -- dispatch -----------------------------------------------------------------------------
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
        session_requests.check_known(kind)
        session = self.session
        if session is None:
            raise ProtocolError(ErrorCode.NO_HELLO, f"{kind} before hello: send hello with consent first")
        if session_requests.handle(session, env, encoding, self.ports.sessions):  # its configuration changed
            self._send(envelopes.configured(session.config().to_wire(), session.id))
            self.on_config(session)

    async def _start(self, env: Envelope) -> None:
        policy, registry = self.ports.hello, self.ports.registry
        hello = Hello.parse(env.payload, policy.default_rate_hz, policy.max_rate_hz)
        if not token_ok(policy.token, hello.token):
            raise ProtocolError(ErrorCode.AUTH_FAILED, "hello has a missing or wrong token")
        try:  # a live session of the name is taken over only once this one runs (fill)
            reservation = registry.reserve(hello.session_name)
        except SessionLimitReached as e:
            raise ProtocolError(ErrorCode.SERVER_BUSY, str(e)) from None
        except NameTaken as e:
            raise ProtocolError(ErrorCode.BAD_HELLO, str(e)) from None
        with reservation:
            reclaim = self.reclaim
            session = await self.ports.sessions.assemble(hello, reclaim.session_id if reclaim else None)
            session.listener = self
            try:
                if reclaim is not None:
                    if reclaim.config is not None:
                        session_requests.restore(session, reclaim.config, self.ports.sessions)
                    session.output.continue_from(reclaim.next_sequence)
                await session.start()
                adopted = reservation.fill(session)
            except NameTaken as e:  # an unnamed session got this id meanwhile
                session.close()
                raise ProtocolError(ErrorCode.BAD_HELLO, str(e)) from None
            except BaseException:
                session.close()
                raise
            self.session = session
        info = self.ports.describer.describe(session)
        extra = {"resume_token": self.resume_token} if self.resume_token else {}
        self._send(envelopes.welcome(info, {**session.config().to_wire(), **extra}))
        for watcher in adopted:  # watchers of the name, back from session_paused
            watcher.channel.put_control(
                envelopes.welcome(info, watching_format=watcher.format).encoded("named", watcher.encoding)
            )
        self.attach_stream(session, Subscriber(self.channel, hello.format, self.encoding))
        self.on_config(session)
        log.info(
            "session %s started: rig=%s format=%s rate=%g Hz camera=%s microphone=%s",
            *(session.id, hello.rig, hello.format, hello.rate_hz, hello.camera, hello.microphone),
        )

    # -- media that arrived decoded (WebRTC tracks), not as messages ----------------------------
    def wants(self, medium: str) -> bool:
        """Whether a ``medium`` ("video", "audio") item would be taken now: the session runs
        and its hello consented to it. A transport asks before converting; what it would not
        take is counted as dropped."""
        session = self.session
        if session is not None and (session.hello.camera if medium == "video" else session.hello.microphone):
            return True
        self.ports.metrics.dropped.labels("no_consent" if session is not None else "no_session").inc()
        return False

    def submit_media(self, item: VideoFrame | AudioChunk) -> None:
        """A frame or chunk a media track delivered, into the session (after `wants`)."""
        session = self.session
        if isinstance(item, VideoFrame):
            if session is not None and session.hello.camera:
                session.submit_video(item)
        elif session is not None and session.hello.microphone:
            session.submit_audio(item)

    # -- what the session says (SessionListener) ----------------------------------------------------
    def on_stage_error(self, error: StageError) -> None:
        self.send_error(error.code, error.message)

    def on_failure(self, task: str, error: BaseException) -> None:
        self.send_error(
            ErrorCode.INTERNAL_ERROR,
            f"the session stopped: its {task} failed ({type(error).__name__}); it was logged. "
            "Reconnect to start a new session.",
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
        table = run.table
        assert table is not None  # saved only when the run made one
        version = await self.ports.calibration.publish_calibration(table)
        sid = self.session.id if self.session else None
        self._send(envelopes.calibration_saved(run.user_id, version, table.steps, run.skipped, table.to_dict(), sid))

    # -- replies ----------------------------------------------------------------------------------
    def send_error(self, code: ErrorCode, message: str) -> None:
        self.ports.metrics.client_errors.labels(str(code)).inc()
        self._send(envelopes.error(code, message, self.session.id if self.session else None))

    def _refuse(self, refusal: Refusal) -> None:
        for error in refusal.errors:
            self.send_error(error.code, error.message)
        if refusal.close is not None:
            self._close(refusal.close)

    def _close(self, code: CloseCode) -> None:
        self.close_code = code
        self.stopped.set()

    def _send(self, message: Outgoing) -> None:
        self.channel.put_control(message.encoded("named", self.encoding))
