"""Face and voice inference in worker processes (`serve --workers N`), so that N sessions'
MediaPipe graphs, voice models and the Python around them run on N cores instead of sharing
one interpreter.

Each worker process keeps one FaceTracker and one VoiceAnalyzer per session it serves (both
keep state between calls: MediaPipe's VIDEO mode tracks between frames, voice activity and
visemes carry context between chunks), so a session is pinned to one worker: the one serving
the fewest. A request carries what the client sent (a JPEG: the only copy across the process
boundary is the pipe's, ~40 KB a frame; an audio chunk) and comes back as FaceFeatures or a
VoiceResult; what the pipe carries is typed in inference_messages.py. Per worker, a sender
thread writes the pipe and a receiver thread reads it, so the event loop never blocks on a
busy worker, and one outbox keeps a session's requests and its viseme-prototype updates in
order. A worker that dies fails its requests with `WorkerDied` (the stage says so to the
client and takes the next one), is started again, and its sessions are pinned afresh on
their next request (tracking and voice context restart).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import multiprocessing
import queue
import threading
from multiprocessing.connection import Connection
from typing import Any

from ..inference.face import FaceTracker, FaceTrackerOptions
from ..inference.input_frame import ImageDecodeError
from ..inference.realtime_visemes import VisemePrototypes
from ..inference.voice_analyzer import VoiceAnalyzer
from ..protocol.messages import AudioChunk, VideoFrame
from .inference_jobs import Analysed, Inferred, VoiceOptions, analyse_chunk, infer_frame, new_voice_analyzer
from .inference_messages import (
    AnalyseChunk,
    Answer,
    Answered,
    Notice,
    Refusal,
    Refused,
    Release,
    Request,
    SetPrototypes,
    TrackFrame,
)

log = logging.getLogger(__name__)


class WorkerDied(RuntimeError):
    """The worker process holding the session ended before answering."""


class _Sessions:
    """A worker process's per-session models, built on a session's first request."""

    def __init__(self, max_image_pixels: int):
        self.max_image_pixels = max_image_pixels
        self.trackers: dict[str, FaceTracker] = {}
        self.voices: dict[str, VoiceAnalyzer] = {}

    def answer(self, request: Request) -> Inferred | Analysed:
        session_id = request.session_id
        if isinstance(request, TrackFrame):
            tracker = self.trackers.get(session_id)
            if tracker is None:
                tracker = self.trackers[session_id] = FaceTracker(request.options)
            return infer_frame(tracker, request.frame, self.max_image_pixels)
        analyzer = self.voices.get(session_id)
        if analyzer is None:
            analyzer = self.voices[session_id] = new_voice_analyzer(request.options)
        return analyse_chunk(analyzer, request.chunk)

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
        if isinstance(message, Release):
            sessions.release(message.session_id)
            continue
        if isinstance(message, SetPrototypes):
            sessions.set_prototypes(message.session_id, message.prototypes)
            continue
        answer: Answer
        try:
            answer = Answered(message.request_id, sessions.answer(message))
        except ImageDecodeError as e:
            answer = Refused(message.request_id, Refusal.BAD_IMAGE, str(e))
        except (RuntimeError, ValueError) as e:  # MediaPipe's graph failures; audio a model refused
            answer = Refused(message.request_id, Refusal.FAILED, str(e))
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
        self._outbox: queue.SimpleQueue[Request | Notice | None] = queue.SimpleQueue()
        self._waiting: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Future[Any]]] = {}
        self._lock = threading.Lock()
        threading.Thread(target=self._send, name=f"inference-worker-{index}-send", daemon=True).start()
        threading.Thread(target=self._receive, name=f"inference-worker-{index}-receive", daemon=True).start()

    def request(self, request: Request) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        with self._lock:
            if not self.alive:
                future.set_exception(WorkerDied("the inference worker is restarting"))
                return future
            self._waiting[request.request_id] = (loop, future)
        self._outbox.put(request)
        return future

    def tell(self, notice: Notice) -> None:
        self._outbox.put(notice)

    def _send(self) -> None:
        while (message := self._outbox.get()) is not None:
            try:
                self._conn.send(message)
            except (OSError, ValueError):
                return

    def _receive(self) -> None:
        while True:
            try:
                answer: Answer = self._conn.recv()
            except (EOFError, OSError):
                break
            with self._lock:
                waiting = self._waiting.pop(answer.request_id, None)
            if waiting is not None:
                _on_loop(waiting[0], _settle, waiting[1], answer)
        with self._lock:  # the process ended: nobody will answer the rest
            self.alive = False
            unanswered, self._waiting = list(self._waiting.values()), {}
        for loop, future in unanswered:
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


def _settle(future: asyncio.Future[Any], answer: Answer) -> None:
    if future.done():
        return
    if isinstance(answer, Answered):
        future.set_result(answer.result)
    else:
        future.set_exception(
            ImageDecodeError(answer.message) if answer.reason == Refusal.BAD_IMAGE else RuntimeError(answer.message)
        )


def _fail(future: asyncio.Future[Any], error: BaseException) -> None:
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
        inferred: Inferred = await self._worker_for(session_id).request(
            TrackFrame(next(self._ids), session_id, options, vf)
        )
        return inferred

    async def analyse(self, session_id: str, options: VoiceOptions, chunk: AudioChunk) -> Analysed:
        """The session's audio chunk, analysed in its worker; WorkerDied if that worker ended first."""
        analysed: Analysed = await self._worker_for(session_id).request(
            AnalyseChunk(next(self._ids), session_id, options, chunk)
        )
        return analysed

    def set_prototypes(self, session_id: str, prototypes: VisemePrototypes) -> None:
        """The session's viseme prototypes, from its next chunk on (after those already sent)."""
        index = self._pins.get(session_id)
        if index is not None:
            self._workers[index].tell(SetPrototypes(session_id, prototypes))

    def release(self, session_id: str) -> None:
        index = self._pins.pop(session_id, None)
        if index is not None:
            self._workers[index].sessions.discard(session_id)
            self._workers[index].tell(Release(session_id))

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
