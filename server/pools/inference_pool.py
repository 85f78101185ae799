"""Face and voice inference in worker processes (`serve --workers N`), so that N sessions'
MediaPipe graphs, voice models and the Python around them run on N cores instead of sharing
one interpreter.

Each worker process keeps one FaceTracker and one VoiceAnalyzer per session it serves (both
keep state between calls: MediaPipe's VIDEO mode tracks between frames, voice activity and
visemes carry context between chunks), so a session is pinned to one worker: the one serving
the fewest. A request carries what the client sent (a JPEG: the only copy across the process
boundary is the pipe's, ~40 KB a frame; an audio chunk) and comes back as FaceFeatures or a
VoiceResult. Per worker, a sender thread writes the pipe and a receiver thread reads it, so
the event loop never blocks on a busy worker, and one outbox keeps a session's requests and
its viseme-prototype updates in order. A worker that dies fails its requests with
`WorkerDied` (the stage says so to the client and takes the next one), is started again, and
its sessions are pinned afresh on their next request (tracking and voice context restart).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import multiprocessing
import queue
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

from avatar_mapping.features import FaceFeatures

from ..inference.face import FaceTracker, FaceTrackerOptions
from ..inference.frame import ImageDecodeError, decode_image, frame_from_rgb
from ..inference.lookahead_visemes import LookaheadOptions, LookaheadVisemes
from ..inference.realtime_visemes import VisemePrototypes
from ..inference.speech_segments import SpeechSegmenter, SpeechWindow
from ..inference.voice import VoiceAnalyzer
from ..protocol.bus import VoiceResult
from ..protocol.messages import AudioChunk, VideoFrame

log = logging.getLogger(__name__)


class WorkerDied(RuntimeError):
    """The worker process holding the session ended before answering."""


@dataclass(frozen=True)
class Inferred:
    features: FaceFeatures
    decode_s: float
    inference_s: float


def infer_frame(tracker: FaceTracker, vf: VideoFrame, max_image_pixels: int) -> Inferred:
    """Decode and track one received frame (on the face stage's thread, or in a worker)."""
    t0 = time.perf_counter()
    if vf.image is not None:
        frame = decode_image(vf.image, vf.capture_ms, max_image_pixels)
    else:
        frame = frame_from_rgb(vf.rgb or b"", vf.width, vf.height, vf.capture_ms, max_image_pixels)
    t1 = time.perf_counter()
    features = tracker.process(frame)
    return Inferred(features, t1 - t0, time.perf_counter() - t1)


@dataclass(frozen=True)
class VoiceOptions:
    """What a session's VoiceAnalyzer is built with. ``segment_speech``: also cut speech
    windows for a recogniser; ``lookahead_delay_ms``: visemes from streamed phone recognition
    that far behind the audio; ``emotion_inference``: prosody arousal."""

    vad_model: Path
    prototypes: VisemePrototypes
    segment_speech: bool = False
    lookahead_delay_ms: float | None = None
    emotion_inference: bool = True


def new_voice_analyzer(options: VoiceOptions) -> VoiceAnalyzer:
    delay = options.lookahead_delay_ms
    analyzer = VoiceAnalyzer(
        options.vad_model,
        SpeechSegmenter() if options.segment_speech else None,
        LookaheadVisemes(LookaheadOptions(delay)) if delay else None,
        prosody=options.emotion_inference,
    )
    analyzer.visemes.set_prototypes(options.prototypes)
    return analyzer


def analyse_chunk(analyzer: VoiceAnalyzer, chunk: AudioChunk) -> tuple[VoiceResult | None, list[SpeechWindow]]:
    """One received audio chunk through the session's analyzer (on the voice stage's thread,
    or in a worker): its features with the 10 ms MFCC frames, and finished speech windows."""
    voice = analyzer.push(chunk.pcm, chunk.sample_rate_hz, chunk.capture_ms)
    frames = analyzer.last_frames
    result = None
    if voice is not None:
        result = VoiceResult(
            voice,
            np.array([f.mfcc for f in frames]).reshape(len(frames), -1),
            np.array([f.log_energy for f in frames], dtype=np.float64),
        )
    return result, analyzer.take_windows()


class _Sessions:
    """A worker process's per-session models, built on a session's first request."""

    def __init__(self, max_image_pixels: int):
        self.max_image_pixels = max_image_pixels
        self.trackers: dict[str, FaceTracker] = {}
        self.voices: dict[str, VoiceAnalyzer] = {}

    def answer(self, kind: str, session_id: str, options: Any, item: Any) -> Any:
        if kind == "face":
            tracker = self.trackers.get(session_id)
            if tracker is None:
                tracker = self.trackers[session_id] = FaceTracker(options)
            return infer_frame(tracker, item, self.max_image_pixels)
        analyzer = self.voices.get(session_id)
        if analyzer is None:
            analyzer = self.voices[session_id] = new_voice_analyzer(options)
        return analyse_chunk(analyzer, item)

    def set_prototypes(self, session_id: str, prototypes: VisemePrototypes) -> None:
        if session_id in self.voices:
            self.voices[session_id].visemes.set_prototypes(prototypes)

    def release(self, session_id: str) -> None:
        tracker = self.trackers.pop(session_id, None)
        if tracker is not None:
            tracker.close()
        self.voices.pop(session_id, None)

    def close(self) -> None:
        for session_id in set(self.trackers) | set(self.voices):
            self.release(session_id)


def _serve(conn: Connection, max_image_pixels: int) -> None:
    """A worker process: requests in, answers out, until the pipe closes."""
    sessions = _Sessions(max_image_pixels)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            break
        if message[0] == "release":
            sessions.release(message[1])
            continue
        if message[0] == "prototypes":
            sessions.set_prototypes(message[1], message[2])
            continue
        kind, request_id, session_id, options, item = message
        try:
            answer: tuple[Any, ...] = ("ok", request_id, sessions.answer(kind, session_id, options, item))
        except ImageDecodeError as e:
            answer = ("bad_image", request_id, str(e))
        except (RuntimeError, ValueError) as e:  # MediaPipe's graph failures; audio a model refused
            answer = ("failed", request_id, str(e))
        conn.send(answer)
    sessions.close()


class _Worker:
    """One process and the two threads that talk to it."""

    def __init__(self, index: int, max_image_pixels: int):
        context = multiprocessing.get_context("spawn")  # the server's threads are not forked
        self._conn, child = context.Pipe()
        self.process = context.Process(
            target=_serve, args=(child, max_image_pixels), name=f"inference-worker-{index}", daemon=True
        )
        self.process.start()
        child.close()
        self.sessions: set[str] = set()
        self.alive = True
        self._outbox: queue.SimpleQueue = queue.SimpleQueue()
        self._waiting: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Future]] = {}
        self._lock = threading.Lock()
        threading.Thread(target=self._send, name=f"inference-worker-{index}-send", daemon=True).start()
        threading.Thread(target=self._receive, name=f"inference-worker-{index}-receive", daemon=True).start()

    def request(self, request_id: int, message: tuple) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        with self._lock:
            if not self.alive:
                future.set_exception(WorkerDied("the inference worker is restarting"))
                return future
            self._waiting[request_id] = (loop, future)
        self._outbox.put(message)
        return future

    def tell(self, message: tuple) -> None:
        self._outbox.put(message)

    def _send(self) -> None:
        while (message := self._outbox.get()) is not None:
            try:
                self._conn.send(message)
            except (OSError, ValueError):
                return

    def _receive(self) -> None:
        while True:
            try:
                answer = self._conn.recv()
            except (EOFError, OSError):
                break
            with self._lock:
                waiting = self._waiting.pop(answer[1], None)
            if waiting is not None:
                _on_loop(waiting[0], _settle, waiting[1], answer)
        with self._lock:  # the process ended: nobody will answer the rest
            self.alive = False
            waiting, self._waiting = list(self._waiting.values()), {}
        for loop, future in waiting:
            _on_loop(loop, _fail, future, WorkerDied("the inference worker process ended"))

    def close(self) -> None:
        self._outbox.put(None)
        self._conn.close()
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()


def _on_loop(loop: asyncio.AbstractEventLoop, fn: Any, *args: Any) -> None:
    """From a worker's thread onto the loop that asked; nothing to do once it has closed."""
    try:
        loop.call_soon_threadsafe(fn, *args)
    except RuntimeError:  # the loop is closed (the server is shutting down)
        pass


def _settle(future: asyncio.Future, answer: tuple) -> None:
    if future.done():
        return
    kind, _, value = answer
    if kind == "ok":
        future.set_result(value)
    else:
        future.set_exception(ImageDecodeError(value) if kind == "bad_image" else RuntimeError(value))


def _fail(future: asyncio.Future, error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)


class InferenceWorkerPool:
    def __init__(self, workers: int, max_image_pixels: int):
        self.max_image_pixels = max_image_pixels
        self._workers = [_Worker(i, max_image_pixels) for i in range(workers)]
        self._pins: dict[str, int] = {}
        self._ids = itertools.count()

    @property
    def size(self) -> int:
        return len(self._workers)

    def worker_of(self, session_id: str) -> int | None:
        return self._pins.get(session_id)

    async def infer(self, session_id: str, options: FaceTrackerOptions, vf: VideoFrame) -> Inferred:
        """The session's frame, tracked in its worker; WorkerDied if that worker ended first."""
        request_id = next(self._ids)
        return await self._worker_for(session_id).request(request_id, ("face", request_id, session_id, options, vf))

    async def analyse(
        self, session_id: str, options: VoiceOptions, chunk: AudioChunk
    ) -> tuple[VoiceResult | None, list[SpeechWindow]]:
        """The session's audio chunk, analysed in its worker; WorkerDied if that worker ended first."""
        request_id = next(self._ids)
        return await self._worker_for(session_id).request(request_id, ("voice", request_id, session_id, options, chunk))

    def set_prototypes(self, session_id: str, prototypes: VisemePrototypes) -> None:
        """The session's viseme prototypes, from its next chunk on (after those already sent)."""
        index = self._pins.get(session_id)
        if index is not None:
            self._workers[index].tell(("prototypes", session_id, prototypes))

    def release(self, session_id: str) -> None:
        index = self._pins.pop(session_id, None)
        if index is not None:
            self._workers[index].sessions.discard(session_id)
            self._workers[index].tell(("release", session_id))

    def _worker_for(self, session_id: str) -> _Worker:
        index = self._pins.get(session_id)
        if index is not None and not self._workers[index].alive:
            self._restart(index)
            index = None
        if index is None:
            index = min(range(len(self._workers)), key=lambda i: len(self._workers[i].sessions))
            self._pins[session_id] = index
            self._workers[index].sessions.add(session_id)
        return self._workers[index]

    def _restart(self, index: int) -> None:
        """A dead worker's place gets a new process; its sessions are pinned again as they come."""
        dead = self._workers[index]
        log.warning("inference worker %d ended (exit code %s); starting another", index, dead.process.exitcode)
        for session_id in dead.sessions:
            self._pins.pop(session_id, None)
        dead.close()
        self._workers[index] = _Worker(index, self.max_image_pixels)

    def close(self) -> None:
        for worker in self._workers:
            worker.close()
