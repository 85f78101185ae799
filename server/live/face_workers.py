"""Face inference in worker processes (`serve --workers N`), so that N sessions' MediaPipe
graphs and their Python around them run on N cores instead of sharing one interpreter.

Each worker process keeps one FaceTracker per session it serves (MediaPipe's VIDEO mode
tracks between frames, so a session is pinned to one worker: the one serving the fewest). A
request carries the received frame as the client sent it (JPEG bytes: the only copy across
the process boundary is the pipe's, ~40 KB a frame) and comes back as FaceFeatures. Per
worker, a sender thread writes the pipe and a receiver thread reads it, so the event loop
never blocks on a busy worker. A worker that dies fails its requests with `WorkerDied` (the
face stage says so to the client and takes the next frame), is started again, and its
sessions are pinned afresh on their next frame (tracking restarts there).
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
from typing import Any

from avatar_mapping.features import FaceFeatures

from ..inference.face import FaceTracker, FaceTrackerOptions
from ..inference.frame import ImageDecodeError, decode_image, frame_from_rgb
from ..protocol.messages import VideoFrame

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


def _serve(conn: Connection, max_image_pixels: int) -> None:
    """A worker process: requests in, answers out, until the pipe closes."""
    trackers: dict[str, FaceTracker] = {}
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            break
        if message[0] == "release":
            tracker = trackers.pop(message[1], None)
            if tracker is not None:
                tracker.close()
            continue
        _, request_id, session_id, options, vf = message
        try:
            tracker = trackers.get(session_id)
            if tracker is None:
                tracker = trackers[session_id] = FaceTracker(options)
            answer: tuple[Any, ...] = ("ok", request_id, infer_frame(tracker, vf, max_image_pixels))
        except ImageDecodeError as e:
            answer = ("bad_image", request_id, str(e))
        except RuntimeError as e:  # MediaPipe reports graph failures as RuntimeError
            answer = ("failed", request_id, str(e))
        conn.send(answer)
    for tracker in trackers.values():
        tracker.close()


class _Worker:
    """One process and the two threads that talk to it."""

    def __init__(self, index: int, max_image_pixels: int):
        context = multiprocessing.get_context("spawn")  # the server's threads are not forked
        self._conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child, max_image_pixels), name=f"face-worker-{index}",
                                       daemon=True)
        self.process.start()
        child.close()
        self.sessions: set[str] = set()
        self.alive = True
        self._outbox: queue.SimpleQueue = queue.SimpleQueue()
        self._waiting: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Future]] = {}
        self._lock = threading.Lock()
        threading.Thread(target=self._send, name=f"face-worker-{index}-send", daemon=True).start()
        threading.Thread(target=self._receive, name=f"face-worker-{index}-receive", daemon=True).start()

    def request(self, request_id: int, message: tuple) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        with self._lock:
            if not self.alive:
                future.set_exception(WorkerDied("the face worker is restarting"))
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
            _on_loop(loop, _fail, future, WorkerDied("the face worker process ended"))

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


class FaceWorkerPool:
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
        return await self._worker_for(session_id).request(request_id, ("infer", request_id, session_id, options, vf))

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
        log.warning("face worker %d ended (exit code %s); starting another", index, dead.process.exitcode)
        for session_id in dead.sessions:
            self._pins.pop(session_id, None)
        dead.close()
        self._workers[index] = _Worker(index, self.max_image_pixels)

    def close(self) -> None:
        for worker in self._workers:
            worker.close()
