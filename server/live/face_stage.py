"""The face stage: a session's received video frames -> FaceFeatures, on its own thread.

MediaPipe's VIDEO mode tracks between frames and needs its calls in order, so each session
has one thread and one FaceTracker. Frames land in a one-element slot: a frame replaced
before inference reached it is dropped (counted, reason "stale"). Results and failures go
back over the bus; the event loop only moves the slot.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor

from avatar_mapping.features import FaceFeatures

from ..inference.face import FaceTracker, FaceTrackerOptions
from ..inference.frame import ImageDecodeError, decode_image, frame_from_rgb
from ..metrics import Metrics
from ..protocol.bus import BusMessage, FaceResult, ReceivedVideo, StageError, Topic
from ..protocol.constants import ErrorCode
from ..protocol.messages import VideoFrame
from .bus import Bus

log = logging.getLogger(__name__)


class FaceStage:
    def __init__(self, session_id: str, bus: Bus, options: FaceTrackerOptions, max_image_pixels: int,
                 metrics: Metrics):
        self.session_id = session_id
        self.bus = bus
        self.options = options
        self.max_image_pixels = max_image_pixels
        self.metrics = metrics
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"face-{session_id}")
        self._tracker: FaceTracker | None = None
        self._pending: ReceivedVideo | None = None
        self._ready = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._subscription = None

    async def start(self) -> None:
        """Loads the model on the stage's thread, then takes frames."""
        await asyncio.get_running_loop().run_in_executor(self._executor, self._load)
        self._subscription = self.bus.subscribe(self.session_id, Topic.VIDEO, self._on_video)
        self._task = asyncio.create_task(self._run(), name=f"face-{self.session_id}")

    def _load(self) -> None:
        self._tracker = FaceTracker(self.options)

    def _on_video(self, message: BusMessage) -> None:
        assert isinstance(message, ReceivedVideo)
        if self._pending is not None:
            self.metrics.dropped.labels("stale").inc()
        self._pending = message
        self._ready.set()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._ready.wait()
            self._ready.clear()
            pending, self._pending = self._pending, None
            if pending is None:
                continue
            try:
                features = await loop.run_in_executor(self._executor, self._infer, pending.frame)
            except ImageDecodeError as e:
                self.bus.publish(self.session_id, StageError("face", ErrorCode.BAD_IMAGE, str(e)))
                continue
            except RuntimeError as e:  # MediaPipe reports graph failures as RuntimeError
                log.exception("session %s: face inference failed", self.session_id)
                self.metrics.stage_failures.labels("face").inc()
                self.bus.publish(self.session_id, StageError("face", ErrorCode.INFERENCE_FAILED,
                                                             f"face inference failed: {e}"))
                continue
            self.bus.publish(self.session_id, FaceResult(features, pending.received_s))

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

    def close(self) -> None:
        """Synchronous, so it completes even while the caller is being cancelled; safe when
        start() was interrupted. The model is released on the stage's own thread, after any
        inference or loading still queued there."""
        if self._subscription is not None:
            self._subscription.cancel()
        if self._task is not None:
            self._task.cancel()
        self._pending = None
        self._executor.submit(self._release)
        self._executor.shutdown(wait=False)

    def _release(self) -> None:
        # MediaPipe must be closed explicitly: a landmarker left to the garbage collector
        # can deadlock MediaPipe's dispatcher while another one is being created.
        if self._tracker is not None:
            self._tracker.close()
            self._tracker = None
