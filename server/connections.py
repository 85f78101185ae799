"""WebSocket endpoints: the publisher stream and watchers. Only server/ talks to the network."""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from starlette.websockets import WebSocket, WebSocketDisconnect

from calibration.wizard import STEPS, VOICE_STEPS, CalibrationRun

from . import __version__
from .limits import RateLimiter, ViolationWindow
from .models.store import ModelError
from .outbox import Outbox
from .protocol.codec import Encoding, Envelope, ProtocolError, decode, encode
from .protocol.messages import (
    AudioChunk, CalibrationStart, Configure, Hello, VideoFrame, error_payload, welcome_payload,
)
from .session import Session, Subscriber

if TYPE_CHECKING:
    from .app import AppState

log = logging.getLogger(__name__)

# WebSocket close codes (RFC 6455 and the application range).
CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_TRY_AGAIN = 1013
CLOSE_UNKNOWN_SESSION = 4404
LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1"}


def origin_allowed(origin: str | None, allowed: str) -> bool:
    """No Origin (native client): allowed. Otherwise the allow-list, or localhost by default."""
    if origin is None:
        return True
    entries = [o.strip().rstrip("/") for o in allowed.split(",") if o.strip()]
    if "*" in entries:
        return True
    if entries:
        return origin.rstrip("/") in entries
    return (urlsplit(origin).hostname or "") in LOCAL_HOSTS


def token_ok(expected: str | None, given: str | None) -> bool:
    return expected is None or (given is not None and hmac.compare_digest(expected.encode(), given.encode()))


def new_session_id() -> str:
    return secrets.token_urlsafe(9)  # 12 characters, 72 random bits


class PublisherConnection:
    """One client that sends media and receives its own avatar stream."""

    def __init__(self, websocket: WebSocket, state: "AppState"):
        self.ws = websocket
        self.state = state
        self.settings = state.settings
        self.metrics = state.metrics
        self.outbox = Outbox(on_drop=lambda reason: self.metrics.dropped.labels(reason).inc())
        self.encoding: Encoding = "cbor"
        self.session: Session | None = None
        self.rate = RateLimiter(self.settings.max_messages_per_s)
        self.violations = ViolationWindow(self.settings.max_errors, self.settings.error_window_s)
        self.close_code: int | None = None

    async def run(self) -> None:
        await self.ws.accept()
        sender = asyncio.create_task(self.outbox.drain_to(self.ws))
        try:
            await self._receive_loop()
            self._end_session()
            await self._flush_and_close(sender)
        finally:  # also on cancellation: nothing here awaits
            sender.cancel()
            self._end_session()

    def _end_session(self) -> None:
        if self.session is None:
            return
        session, self.session = self.session, None
        self.state.sessions.pop(session.id, None)
        self.metrics.sessions.dec()
        for w in self.state.watchers.pop(session.id, []):
            w.put_control(None)  # tells watchers the session ended
        session.close()

    async def _receive_loop(self) -> None:
        while self.close_code is None:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("bytes") if message.get("bytes") is not None else message.get("text")
            if data is None:
                continue
            if self.session is None:  # until hello, reply in the encoding the client used
                self.encoding = "json" if isinstance(data, str) else "cbor"
            try:
                self._check_limits(data)
                envelope, encoding = decode(data)
                await self._handle(envelope, encoding)
            except ProtocolError as e:
                self.send_error(e.code, e.message)
                if e.code == "auth_failed":
                    self.close_code = CLOSE_POLICY
                elif self.violations.add():
                    self.send_error("too_many_errors", f"{self.violations.max_count} bad messages within "
                                    f"{self.violations.window_s:g} s; closing")
                    self.close_code = CLOSE_TOO_BIG if e.code == "too_large" else CLOSE_POLICY

    def _check_limits(self, data: bytes | str) -> None:
        size = len(data)
        if size > self.settings.max_message_bytes:
            raise ProtocolError("too_large", f"message of {size} bytes is over the limit of "
                                f"{self.settings.max_message_bytes} bytes")
        if not self.rate.allow():
            raise ProtocolError("rate_limited", f"more than {self.settings.max_messages_per_s:g} messages per second; "
                                "message dropped")

    async def _handle(self, env: Envelope, encoding: Encoding) -> None:
        now_ms = int(time.time() * 1000)
        if env.type == "hello":
            if self.session is not None:
                raise ProtocolError("bad_hello", "hello was already received for this session")
            await self._start_session(env)
        elif env.type in ("video_frame", "audio_chunk"):
            if self.session is None:
                raise ProtocolError("no_hello", f"{env.type} before hello: send hello with consent first")
            if env.type == "video_frame":
                if not self.session.hello.camera:
                    raise ProtocolError("no_consent", "video_frame without camera consent: frame discarded")
                self.session.submit_video(VideoFrame.parse(env.payload, encoding, now_ms))
            else:
                if not self.session.hello.microphone:
                    raise ProtocolError("no_consent", "audio_chunk without microphone consent: chunk discarded")
                self.session.submit_audio(AudioChunk.parse(env.payload, encoding, now_ms))
        elif env.type in ("configure", "calibration_start", "calibration_step"):
            if self.session is None:
                raise ProtocolError("no_hello", f"{env.type} before hello")
            if env.type == "configure":
                self._configure(Configure.parse(env.payload))
            elif env.type == "calibration_start":
                self._start_calibration(CalibrationStart.parse(env.payload, tuple(s.name for s in STEPS),
                                                               tuple(s.name for s in VOICE_STEPS)))
            else:
                if env.payload.get("action") != "cancel":
                    raise ProtocolError("bad_calibration", "calibration_step from a client takes {action: 'cancel'}")
                self._send_calibration(self.session.cancel_calibration())
        elif env.type == "bye":
            self.close_code = CLOSE_NORMAL
        else:
            raise ProtocolError("unknown_type", f"unknown message type {env.type!r}; expected hello, video_frame, "
                                "audio_chunk, configure, calibration_start, calibration_step or bye")

    def _configure(self, cfg: Configure) -> None:
        session = self.session
        if cfg.strategy is not None or cfg.strategy_params is not None:
            name = cfg.strategy or session.strategy_name
            params = cfg.strategy_params if cfg.strategy_params is not None else (
                session.strategy_params if cfg.strategy is None else {})
            try:
                strategy = self.state.strategies.make(name, session.rig, params)
            except ValueError as e:
                raise ProtocolError("bad_configure", str(e)) from None
            session.set_strategy(name, params, strategy)
        session.set_adaptive(cfg.adaptive, cfg.adaptive_frozen)
        if cfg.compare is not None:
            self._set_compare(session, cfg.compare, "bad_configure")
        elif cfg.stop_compare:
            session.set_compare(None, None, None)
        self._send("configured", session.config())

    def _set_compare(self, session: Session, compare, code: str) -> None:
        try:
            strategy = self.state.strategies.make(compare.strategy, session.rig, compare.strategy_params)
        except ValueError as e:
            raise ProtocolError(code, str(e)) from None
        session.set_compare(compare.strategy, compare.strategy_params, strategy)

    def _start_calibration(self, request: CalibrationStart) -> None:
        session = self.session
        steps = session.calibration_steps(request)
        if not steps:
            raise ProtocolError("no_consent", "calibration needs camera or microphone consent")
        if any(s.viseme is None for s in steps) and not session.hello.camera:
            raise ProtocolError("no_consent", "the face steps of the calibration need camera consent")
        if any(s.viseme is not None for s in steps) and not session.hello.microphone:
            raise ProtocolError("no_consent", "the voice steps of the calibration need microphone consent")
        user_id = request.user_id or session.hello.user_id
        if user_id is None:
            raise ProtocolError("bad_calibration", "calibration needs a user_id (in hello or calibration_start)")
        if session.calibration_run is not None:
            raise ProtocolError("bad_calibration", "a calibration is already running; cancel it first")
        self._send_calibration(session.start_calibration(steps, request, user_id))

    def _on_calibration(self, session: Session, run: CalibrationRun, events: list[dict]) -> None:
        self._send_calibration(events)
        if run.state == "done" and run.table is not None:
            asyncio.create_task(self._save_calibration(run))
        elif run.state == "failed":
            self._send("calibration_result", {"user_id": run.user_id, "status": "failed", "reason": run.failure})

    async def _save_calibration(self, run: CalibrationRun) -> None:
        version = await asyncio.get_running_loop().run_in_executor(None, self.state.publish_calibration, run.table)
        self._send("calibration_result", {"user_id": run.user_id, "status": "saved", "version": version,
                                          "steps": list(run.table.steps), "table": run.table.to_dict()})

    def _send_calibration(self, events: list[dict]) -> None:
        for event in events:
            self._send("calibration_step", event)

    def _send(self, kind: str, payload: dict) -> None:
        sid = self.session.id if self.session else None
        self.outbox.put_control(encode(Envelope(kind, payload, sid, int(time.time() * 1000), None), self.encoding))

    async def _start_session(self, env: Envelope) -> None:
        s = self.settings
        hello = Hello.parse(env.payload, s.default_rate_hz, s.max_rate_hz)
        if not token_ok(s.token, hello.token):
            raise ProtocolError("auth_failed", "hello has a missing or wrong token")
        rig = self.state.rigs.get(hello.rig)
        if rig is None:
            raise ProtocolError("bad_hello", f"unknown rig {hello.rig!r}; available: {self.state.rigs.ids()}")
        if len(self.state.sessions) >= s.max_sessions:
            raise ProtocolError("server_busy", f"the server already has {s.max_sessions} sessions; try again later")
        model_path = vad_path = emotion_path = None
        try:
            if hello.camera:
                model_path = self.state.models.require("face_landmarker")
                emotion_path = self.state.face_emotion_path
            if hello.microphone:
                vad_path = self.state.models.require("silero_vad")
        except ModelError as e:
            raise ProtocolError("model_missing", str(e)) from None
        try:
            strategy = self.state.strategies.make(hello.strategy, rig, hello.strategy_params)
        except ValueError as e:
            raise ProtocolError("bad_hello", str(e)) from None
        calibration = None
        if hello.user_id is not None:
            calibration = await asyncio.get_running_loop().run_in_executor(
                None, self.state.calibration.get, hello.user_id)
        session_id = new_session_id()
        session = Session(session_id, hello, rig, model_path, self.metrics, s.emotion_rate_hz,
                          s.max_image_pixels, strategy, calibration, vad_path, self.state.speech,
                          emotion_path, self.state.recordings.path_for(session_id) if hello.record else None)
        session.on_calibration = self._on_calibration
        if hello.compare is not None:
            self._set_compare(session, hello.compare, "bad_hello")
        try:
            await session.start(on_frame_error=self.send_error)
        except BaseException:
            session.close()
            raise
        self.session = session
        self.state.sessions[session.id] = session
        self.metrics.sessions.inc()
        welcome = welcome_payload(session.id, hello, rig.channel_names, rig.bone_names, s.emotion_rate_hz,
                                  self.state.limits(), __version__)
        welcome.update(session.config())
        self.outbox.put_control(encode(Envelope("welcome", welcome, session.id, int(time.time() * 1000), 0),
                                       self.encoding))
        session.subscribe(Subscriber(self.outbox, hello.format, self.encoding))
        log.info("session %s started: rig=%s format=%s rate=%g Hz camera=%s microphone=%s", session.id,
                 hello.rig, hello.format, hello.rate_hz, hello.camera, hello.microphone)

    def send_error(self, code: str, message: str) -> None:
        self.metrics.client_errors.labels(code).inc()
        self._send("error", error_payload(code, message))

    async def _flush_and_close(self, sender: asyncio.Task) -> None:
        # Give queued errors a moment to go out before closing.
        for _ in range(20):
            if sender.done() or not self.outbox.pending:
                break
            await asyncio.sleep(0.01)
        sender.cancel()
        if self.close_code is not None and not self.outbox.closed:
            try:
                await self.ws.close(self.close_code)
            except (RuntimeError, WebSocketDisconnect, OSError):
                pass  # the peer already left


async def run_watcher(websocket: WebSocket, state: "AppState", session_id: str, fmt: str, encoding: Encoding) -> None:
    """Stream an existing session's frames to one more client (an NPC, another viewer)."""
    session = state.sessions.get(session_id)
    if session is None:
        await websocket.close(CLOSE_UNKNOWN_SESSION, reason="unknown session")
        return
    watchers = state.watchers.setdefault(session_id, [])
    if len(watchers) >= state.settings.max_watchers_per_session:
        await websocket.close(CLOSE_TRY_AGAIN, reason="too many watchers for this session")
        return
    await websocket.accept()
    outbox = Outbox(on_drop=lambda reason: state.metrics.dropped.labels(reason).inc())
    watchers.append(outbox)
    subscriber = Subscriber(outbox, fmt, encoding)
    hello = session.hello
    welcome = welcome_payload(session.id, hello, session.rig.channel_names, session.rig.bone_names,
                              state.settings.emotion_rate_hz, state.limits(), __version__)
    welcome.update(format=fmt, watching=True)
    outbox.put_control(encode(Envelope("welcome", welcome, session.id, int(time.time() * 1000), 0), encoding))
    session.subscribe(subscriber)
    state.metrics.watchers.inc()
    try:
        while True:
            message = await outbox.next()
            if message is None:  # session ended
                await websocket.close(CLOSE_GOING_AWAY, reason="session ended")
                return
            if isinstance(message, bytes):
                await websocket.send_bytes(message)
            else:
                await websocket.send_text(message)
    except (WebSocketDisconnect, RuntimeError, OSError):
        return
    finally:
        session.unsubscribe(subscriber)
        if outbox in watchers:
            watchers.remove(outbox)
        state.metrics.watchers.dec()
