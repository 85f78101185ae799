"""The face stage: a session's received video frames -> FaceFeatures, on its own thread.

MediaPipe's VIDEO mode tracks between frames and needs its calls in order, so each session
has one thread and one FaceTracker. Frames land in a one-element slot: a frame replaced
before inference reached it is dropped (counted, reason "stale"). Results and failures go
back over the bus; the event loop only moves the slot.
"""

from __future__ import annotations

import logging
import time

from avatar_mapping.features import FaceFeatures

from ..inference.face import FaceTracker, FaceTrackerOptions
from ..inference.frame import ImageDecodeError, decode_image, frame_from_rgb
from ..metrics import Metrics
from ..protocol.bus import BusMessage, FaceResult, ReceivedVideo, StageError, Topic
from ..protocol.constants import ErrorCode
from ..protocol.messages import VideoFrame
from .bus import Bus
from .stage import Stage

log = logging.getLogger(__name__)


class FaceStage(Stage):
    topic = Topic.VIDEO
    name = "face"

    def __init__(self, session_id: str, bus: Bus, options: FaceTrackerOptions, max_image_pixels: int,
                 metrics: Metrics):
        super().__init__(session_id, bus, metrics)
        self.options = options
        self.max_image_pixels = max_image_pixels
        self._tracker: FaceTracker | None = None
        self._pending: ReceivedVideo | None = None

    def _load(self) -> None:
        self._tracker = FaceTracker(self.options)

    def _keep(self, message: BusMessage) -> None:
        assert isinstance(message, ReceivedVideo)
        if self._pending is not None:
            self.metrics.dropped.labels("stale").inc()
        self._pending = message

    async def _work(self) -> None:
        pending, self._pending = self._pending, None
        if pending is None:
            return
        try:
            features = await self.on_thread(self._infer, pending.frame)
        except ImageDecodeError as e:
            self.publish(StageError(self.name, ErrorCode.BAD_IMAGE, str(e)))
            return
        except RuntimeError as e:  # MediaPipe reports graph failures as RuntimeError
            log.exception("session %s: face inference failed", self.session_id)
            self.metrics.stage_failures.labels(self.name).inc()
            self.publish(StageError(self.name, ErrorCode.INFERENCE_FAILED, f"face inference failed: {e}"))
            return
        self.publish(FaceResult(features, pending.received_s))

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

    def _forget(self) -> None:
        self._pending = None

    def _release(self) -> None:
        # MediaPipe must be closed explicitly: a landmarker left to the garbage collector
        # can deadlock MediaPipe's dispatcher while another one is being created.
        if self._tracker is not None:
            self._tracker.close()
            self._tracker = None
