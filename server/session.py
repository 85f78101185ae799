"""A live session: consent, the latest-frame slot, inference off the loop, the output clock.

Video frames land in a one-element slot (latest wins; a frame replaced before
inference reached it is counted as dropped). One worker thread per session runs
decode + FaceLandmarker in VIDEO mode. The output clock ticks at the hello's
rate_hz and maps the newest features, whatever rate frames arrive at.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from avatar_mapping.emotion_fusion import EmotionEvidence
from avatar_mapping.features import FaceFeatures
from avatar_mapping.rig import RigDefinition
from avatar_mapping.strategies import Strategy
from avatar_mapping.voice import VoiceFeatures
from calibration.adaptive import AdaptiveRanges
from calibration.table import CalibrationTable
from calibration.wizard import ALL_STEPS, STEPS, VOICE_STEPS, CalibrationRun, WizardStep

from .audio_buffer import PcmRingBuffer
from .emitter import FrameEmitter, Outgoing
from .inference.face import FaceTracker, FaceTrackerOptions
from .inference.frame import ImageDecodeError, decode_image, frame_from_rgb
from .inference.lookahead_visemes import LookaheadOptions, LookaheadVisemes
from .inference.realtime_visemes import VisemeFrame, VisemePrototypes, adapt_prototypes
from .inference.sensevoice import SpeechRecognition
from .inference.speech_segments import SpeechSegmenter, SpeechWindow
from .inference.voice import VoiceAnalyzer
from .metrics import Metrics
from .outbox import Outbox
from .protocol.codec import Encoding
from .protocol.messages import AudioChunk, CalibrationStart, Hello, VideoFrame, transcript_payload
from .recording import Recorder, new_header
from .speech_service import SpeechService

log = logging.getLogger(__name__)
# Features older than this no longer describe the user: the avatar eases to rest.
STALE_FEATURES_S = 0.5
# Adaptive ranges are pushed into the mapping this often.
ADAPTIVE_PUSH_S = 1.0
# Audio waiting for voice activity detection is bounded (chunks are ~100 ms).
MAX_PENDING_AUDIO_CHUNKS = 50
DEFAULT_PROTOTYPES = VisemePrototypes.load()
# The last recognised speech emotion stays part of the fused state this long.
SPEECH_EMOTION_HOLD_S = 4.0


@dataclass
class Subscriber:
    outbox: Outbox
    format: str
    encoding: Encoding


@dataclass
class _Pending:
    frame: VideoFrame
    received_s: float


class Session:
    def __init__(self, session_id: str, hello: Hello, rig: RigDefinition, model_path: Path | None,
                 metrics: Metrics, emotion_rate_hz: float, max_image_pixels: int, strategy: Strategy,
                 calibration: CalibrationTable | None = None, vad_path: Path | None = None,
                 speech: SpeechService | None = None, emotion_model_path: Path | None = None,
                 recording_path: Path | None = None):
        self.id = session_id
        self.hello = hello
        self.rig = rig
        self.metrics = metrics
        self.max_image_pixels = max_image_pixels
        self.strategy_name, self.strategy_params = hello.strategy, dict(hello.strategy_params or {})
        self.calibration = calibration or CalibrationTable.identity(hello.user_id or "default")
        self.emitter = FrameEmitter(session_id, rig, emotion_rate_hz, strategy=strategy, calibration=self.calibration)
        self.adaptive = AdaptiveRanges(hello.user_id or "default") if hello.adaptive else None
        self._since_adaptive_push_s = 0.0
        self.calibration_run: CalibrationRun | None = None
        self.compare: tuple[str, dict] | None = None
        # Called with (session, events) for wizard progress; set by the connection.
        self.on_calibration = None
        self.subscribers: list[Subscriber] = []
        self.audio = PcmRingBuffer()
        self._model_path = model_path
        self._emotion_model_path = emotion_model_path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"face-{session_id}")
        self._tracker: FaceTracker | None = None
        self._pending: _Pending | None = None
        self._frame_ready = asyncio.Event()
        self._features = FaceFeatures.absent(0)
        self._features_received_s = time.monotonic()
        self._features_sent = True
        self._tasks: list[asyncio.Task] = []
        self._on_frame_error = None
        # Audio: its own thread, so voice activity never waits behind face inference.
        self._vad_path = vad_path
        self._voice_analyzer: VoiceAnalyzer | None = None
        self._audio_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"audio-{session_id}")
        self._audio_pending: list[AudioChunk] = []
        self._audio_ready = asyncio.Event()
        self._voice = VoiceFeatures.silent(0)
        self._voice_received_s = 0.0
        # Speech recognition (shared SenseVoice): finals in order, partial windows latest-wins.
        self._speech = speech if speech is not None and speech.available else None
        self._speech_pending: list[SpeechWindow] = []
        self._speech_ready = asyncio.Event()
        self._speech_emotion: EmotionEvidence | None = None
        self._speech_emotion_s = 0.0
        self._voice_with_speech: tuple = (None, None, None)  # (voice, evidence, voice with it)
        self._transcript_sequence = 0
        self._face_history: deque[tuple[float, FaceFeatures]] = deque()  # look-ahead lip-sync only
        # consent.record: the features each tick maps, from the session's start (never media).
        self.recording_path = recording_path if hello.record else None
        self._recorder: Recorder | None = None
        self._started_s = time.monotonic()

    async def start(self, on_frame_error) -> None:
        """Load the face model (if the camera is consented) and start the clocks."""
        self._on_frame_error = on_frame_error
        if self.hello.camera:
            loop = asyncio.get_running_loop()
            options = FaceTrackerOptions(model_path=self._model_path, mode="video", mirror=self.hello.mirror,
                                         emotion_model=self._emotion_model_path)
            await loop.run_in_executor(self._executor, self._load_tracker, options)
            self._tasks.append(asyncio.create_task(self._inference_loop(), name=f"inference-{self.id}"))
        if self.hello.microphone and self._vad_path is not None:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._audio_executor, self._load_vad)
            self._tasks.append(asyncio.create_task(self._audio_loop(), name=f"audio-{self.id}"))
            if self._speech is not None:
                self._tasks.append(asyncio.create_task(self._speech_loop(), name=f"speech-{self.id}"))
        self._tasks.append(asyncio.create_task(self._output_loop(), name=f"output-{self.id}"))

    def _load_vad(self) -> None:
        delay = self.hello.lipsync_delay_ms
        self._voice_analyzer = VoiceAnalyzer(self._vad_path, SpeechSegmenter() if self._speech else None,
                                             LookaheadVisemes(LookaheadOptions(delay)) if delay else None)
        self._apply_voice_calibration()

    def _apply_voice_calibration(self) -> None:
        """The user's viseme prototypes (calibration's voice steps), or the defaults."""
        analyzer = self._voice_analyzer
        if analyzer is None:
            return
        cal = self.calibration.visemes
        analyzer.visemes.set_prototypes(adapt_prototypes(DEFAULT_PROTOTYPES, cal) if cal else DEFAULT_PROTOTYPES)

    def _calibration_audio(self, frames: list[VisemeFrame]) -> None:
        run = self.calibration_run
        if run is None or not frames:
            return
        events = run.feed_audio(np.array([f.mfcc for f in frames]), np.array([f.log_energy for f in frames]),
                                time.monotonic())
        if run.finished:
            self.calibration_run = None
        if events and self.on_calibration is not None:
            self.on_calibration(self, run, events)

    async def _audio_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._audio_ready.wait()
            self._audio_ready.clear()
            chunks, self._audio_pending = self._audio_pending, []
            for chunk in chunks:
                t0 = time.perf_counter()
                voice = await loop.run_in_executor(self._audio_executor, self._voice_analyzer.push, chunk.pcm,
                                                   chunk.sample_rate_hz, chunk.capture_ms)
                self.metrics.stage_seconds.labels("voice").observe(time.perf_counter() - t0)
                if voice is not None:
                    self._voice = voice
                    self._voice_received_s = time.monotonic()
                self._calibration_audio(self._voice_analyzer.last_frames)
                for window in self._voice_analyzer.take_windows():
                    self._queue_speech(window)

    def _queue_speech(self, window: SpeechWindow) -> None:
        if self._speech is None:
            return
        if not window.final:  # a newer partial window replaces one not yet recognised
            stale = [w for w in self._speech_pending if not w.final]
            for w in stale:
                self._speech_pending.remove(w)
                self.metrics.dropped.labels("speech_window").inc()
        self._speech_pending.append(window)
        self._speech_ready.set()

    async def _speech_loop(self) -> None:
        while True:
            await self._speech_ready.wait()
            self._speech_ready.clear()
            while self._speech_pending:
                window = self._speech_pending.pop(0)
                t0 = time.perf_counter()
                try:
                    result = await self._speech.recognize(window)
                except (RuntimeError, ValueError) as e:  # torch/FunASR errors, unexpected tags
                    log.warning("session %s: speech recognition failed on %d ms of audio: %s",
                                self.id, window.end_ms - window.start_ms, e)
                    self.metrics.stage_failures.labels("speech_recognition").inc()
                    continue
                self.metrics.stage_seconds.labels("speech_recognition").observe(time.perf_counter() - t0)
                self._on_speech(result)

    def _on_speech(self, result: SpeechRecognition) -> None:
        evidence = result.emotion_evidence() if result.present else None
        if evidence is not None:
            self._speech_emotion = evidence
            self._speech_emotion_s = time.monotonic()
        if result.present or result.final:
            seq = self._transcript_sequence
            self._transcript_sequence += 1
            payload = transcript_payload(result)
            sid = self.id
            self.publish([Outgoing("transcript", lambda: {"type": "transcript", "session_id": sid,
                                                          "timestamp_ms": int(time.time() * 1000),
                                                          "sequence": seq, "payload": payload})])

    def _load_tracker(self, options: FaceTrackerOptions) -> None:
        self._tracker = FaceTracker(options)

    def _close_tracker(self) -> None:
        # MediaPipe must be closed explicitly: a landmarker left to the garbage collector
        # can deadlock MediaPipe's dispatcher while another one is being created.
        if self._tracker is not None:
            self._tracker.close()
            self._tracker = None

    def set_strategy(self, name: str, params: dict, strategy: Strategy) -> None:
        self.strategy_name, self.strategy_params = name, dict(params)
        self.emitter.mapper.set_strategy(strategy)

    def set_calibration(self, table: CalibrationTable) -> None:
        """A new table applies from the next frame, without reconnecting."""
        self.calibration = table
        self.emitter.set_calibration(self.adaptive.table(table) if self.adaptive else table)
        self._apply_voice_calibration()

    def set_compare(self, name: str | None, params: dict | None, strategy: Strategy | None) -> None:
        self.compare = (name, dict(params or {})) if name else None
        self.emitter.set_compare(strategy)

    def set_adaptive(self, enabled: bool | None, frozen: bool | None) -> None:
        if enabled is not None:
            self.adaptive = (self.adaptive or AdaptiveRanges(self.calibration.user_id)) if enabled else None
            if not enabled:
                self.emitter.set_calibration(self.calibration)
        if frozen is not None and self.adaptive is not None:
            self.adaptive.frozen = frozen

    def config(self) -> dict:
        return {"strategy": self.strategy_name, "strategy_params": self.strategy_params,
                "adaptive": self.adaptive is not None,
                "adaptive_frozen": bool(self.adaptive and self.adaptive.frozen),
                "calibration_user_id": self.calibration.user_id if not self.calibration.is_identity else None,
                "compare": {"strategy": self.compare[0], "strategy_params": self.compare[1]} if self.compare else None}

    def calibration_steps(self, request: CalibrationStart) -> tuple[WizardStep, ...]:
        """The steps asked for, or face steps with a camera and voice steps with a microphone."""
        if request.steps is not None:
            return tuple(s for s in ALL_STEPS if s.name in request.steps)
        return (STEPS if self.hello.camera else ()) + (VOICE_STEPS if self.hello.microphone else ())

    def start_calibration(self, steps: tuple[WizardStep, ...], request: CalibrationStart, user_id: str) -> list[dict]:
        """What the run does not record is kept from the user's current table."""
        steps = tuple(replace(s, duration_s=s.duration_s * request.duration_scale) for s in steps)
        base = None if self.calibration.is_identity else self.calibration
        self.calibration_run = CalibrationRun(user_id, steps=steps, prepare_s=request.prepare_s, base=base)
        return self.calibration_run.start(time.monotonic())

    def cancel_calibration(self) -> list[dict]:
        run, self.calibration_run = self.calibration_run, None
        return run.cancel() if run is not None else []

    def _after_features(self, features: FaceFeatures, dt_s: float) -> None:
        if self.adaptive is not None:
            self.adaptive.update(features, dt_s)
            self._since_adaptive_push_s += dt_s
            if self._since_adaptive_push_s >= ADAPTIVE_PUSH_S and not self.adaptive.frozen:
                self._since_adaptive_push_s = 0.0
                self.emitter.set_calibration(self.adaptive.table(self.calibration))
        run = self.calibration_run
        if run is not None:
            events = run.feed(features, time.monotonic())
            if run.finished:
                self.calibration_run = None
            if events and self.on_calibration is not None:
                self.on_calibration(self, run, events)

    def submit_video(self, frame: VideoFrame) -> None:
        self.metrics.frames_in.labels("video").inc()
        if self._pending is not None:
            self.metrics.dropped.labels("stale").inc()
        self._pending = _Pending(frame, time.monotonic())
        self._frame_ready.set()

    def submit_audio(self, chunk: AudioChunk) -> None:
        self.metrics.frames_in.labels("audio").inc()
        self.audio.append(chunk.pcm, chunk.sample_rate_hz, chunk.capture_ms)
        if self._vad_path is None:
            return
        if len(self._audio_pending) >= MAX_PENDING_AUDIO_CHUNKS:
            self._audio_pending.pop(0)
            self.metrics.dropped.labels("audio_backlog").inc()
        self._audio_pending.append(chunk)
        self._audio_ready.set()

    def subscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.append(subscriber)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        if subscriber in self.subscribers:
            self.subscribers.remove(subscriber)

    async def _inference_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._frame_ready.wait()
            self._frame_ready.clear()
            pending, self._pending = self._pending, None
            if pending is None:
                continue
            try:
                features = await loop.run_in_executor(self._executor, self._infer, pending.frame)
            except ImageDecodeError as e:
                self._on_frame_error("bad_image", str(e))
                continue
            except RuntimeError as e:  # MediaPipe reports graph failures as RuntimeError
                log.exception("session %s: face inference failed", self.id)
                self._on_frame_error("inference_failed", f"face inference failed: {e}")
                continue
            dt_s = pending.received_s - self._features_received_s
            self._features = features
            self._features_received_s = pending.received_s
            if self.hello.lipsync_delay_ms:
                self._face_history.append((pending.received_s, features))
            self._features_sent = False
            self._after_features(features, max(0.0, min(dt_s, 1.0)))

    def _infer(self, vf: VideoFrame) -> FaceFeatures:
        t0 = time.perf_counter()
        if vf.image is not None:
            frame = decode_image(vf.image, vf.capture_ms, self.max_image_pixels)
        else:
            frame = frame_from_rgb(vf.rgb or b"", vf.width, vf.height, vf.capture_ms, self.max_image_pixels)
        t1 = time.perf_counter()
        features = self._tracker.process(frame)
        t2 = time.perf_counter()
        self.metrics.stage_seconds.labels("decode").observe(t1 - t0)
        self.metrics.stage_seconds.labels("inference").observe(t2 - t1)
        return features

    async def _output_loop(self) -> None:
        period = 1.0 / self.hello.rate_hz
        last = time.monotonic()
        next_tick = last
        while True:
            next_tick += period
            now = time.monotonic()
            if next_tick < now - period:  # fell far behind (suspended loop): do not burst
                next_tick = now + period
            await asyncio.sleep(max(0.0, next_tick - now))
            now = time.monotonic()
            self._tick(now - last, now)
            last = now

    def _delayed_features(self, now: float) -> tuple[FaceFeatures, float]:
        """Look-ahead lip-sync delays the face as much as the mouth: the newest features
        received at least delay_ms ago (and when they were received)."""
        cutoff = now - self.hello.lipsync_delay_ms / 1000.0
        while len(self._face_history) > 1 and self._face_history[1][0] <= cutoff:
            self._face_history.popleft()
        if self._face_history and self._face_history[0][0] <= cutoff:
            return self._face_history[0][1], self._face_history[0][0]
        return FaceFeatures.absent(0), now

    def _tick(self, dt_s: float, now: float) -> None:
        age_s = now - self._features_received_s
        features = self._features
        if self.hello.lipsync_delay_ms:
            features, received_s = self._delayed_features(now)
            age_s = now - received_s - self.hello.lipsync_delay_ms / 1000.0
        if features.present and age_s > STALE_FEATURES_S:
            features = FaceFeatures.absent(features.capture_ms)
        voice = self._voice
        if voice.present and now - self._voice_received_s > STALE_FEATURES_S:
            voice = VoiceFeatures.silent(voice.capture_ms)  # the microphone stopped sending
        if voice.present and self._speech_emotion is not None and now - self._speech_emotion_s < SPEECH_EMOTION_HOLD_S:
            voice = self._with_speech_emotion(voice)
        if self.recording_path is not None:
            self._record(now, features, voice)
        t0 = time.perf_counter()
        messages = self.emitter.tick(features, dt_s, age_s, int(time.time() * 1000), voice)
        t1 = time.perf_counter()
        self.publish(messages)
        t2 = time.perf_counter()
        self.metrics.stage_seconds.labels("mapping").observe(t1 - t0)
        self.metrics.stage_seconds.labels("encode").observe(t2 - t1)
        if not self._features_sent:
            self._features_sent = True
            self.metrics.stage_seconds.labels("frame_to_send").observe(time.monotonic() - self._features_received_s)

    def _with_speech_emotion(self, voice: VoiceFeatures) -> VoiceFeatures:
        """The voice with the held SenseVoice evidence added, built once per (voice, evidence)
        pair: the same object every tick keeps the mapper's fused-state cache warm."""
        base, evidence, combined = self._voice_with_speech
        if voice is not base or self._speech_emotion is not evidence:
            combined = replace(voice, speech_emotion=voice.speech_emotion + (self._speech_emotion,))
            self._voice_with_speech = (voice, self._speech_emotion, combined)
        return combined

    def _record(self, now: float, features: FaceFeatures, voice: VoiceFeatures) -> None:
        if self._recorder is None:
            self.recording_path.parent.mkdir(parents=True, exist_ok=True)
            header = new_header(self.rig.id, self.strategy_name, self.strategy_params,
                                None if self.calibration.is_identity else self.calibration.to_dict(),
                                self.hello.rate_hz, f"session:{self.id}")
            self._recorder = Recorder(self.recording_path.open("wb"), header)
        self._recorder.write(1000.0 * (now - self._started_s), features, voice)

    def publish(self, messages: list[Outgoing]) -> None:
        for m in messages:
            self.metrics.frames_out.labels(m.type).inc()
            for s in self.subscribers:
                s.outbox.put_data(m.encoded(s.format, s.encoding))

    def close(self) -> None:
        """Stop the clocks and release the model. Synchronous, so it completes even when the
        connection's task is being cancelled; safe when start() was interrupted."""
        for t in self._tasks:
            t.cancel()
        self._tasks.clear()
        self._pending = None
        # Queued behind any inference or model loading on the session's own thread.
        self._executor.submit(self._close_tracker)
        self._executor.shutdown(wait=False)
        self._audio_pending = []
        self._speech_pending = []
        if self._recorder is not None:
            self._recorder.close()
            self._recorder = None
        self._audio_executor.shutdown(wait=False)
