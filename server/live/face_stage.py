"""The face stage: a session's received video frames -> FaceFeatures, on its own thread or,
with `serve --workers N`, in the worker process the session is pinned to (server/pools/inference_pool.py).

MediaPipe's VIDEO mode tracks between frames and needs its calls in order, so each session
has one FaceTracker and one frame in inference at a time. Frames land in a one-element slot:
a frame replaced before inference reached it is dropped (counted, reason "stale"). Results
and failures go back over the bus; the event loop only moves the slot.
"""

from __future__ import annotations

import logging

from ..inference.face import FaceTracker, FaceTrackerOptions
from ..inference.input_frame import ImageDecodeError
from ..metrics import Metrics
from ..pools.inference_jobs import infer_frame
from ..pools.inference_pool import InferenceWorkerPool
from ..protocol.bus import BusMessage, FaceResult, ReceivedVideo, StageError, Topic
from ..protocol.constants import ErrorCode
from .bus import Bus
from .stage import Stage

log = logging.getLogger(__name__)


class FaceStage(Stage):
    topic = Topic.VIDEO
    name = "face"

    def __init__(
        self,
        session_id: str,
        bus: Bus,
        options: FaceTrackerOptions,
        max_image_pixels: int,
        metrics: Metrics,
        workers: InferenceWorkerPool | None = None,
    ):
        super().__init__(session_id, bus, metrics, own_thread=workers is None)
        self.workers = workers
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
            if self.workers is not None:
                inferred = await self.workers.infer(self.session_id, self.options, pending.frame)
            else:
                inferred = await self.on_thread(infer_frame, self._tracker, pending.frame, self.max_image_pixels)
        except ImageDecodeError as e:
            self.publish(StageError(self.name, ErrorCode.BAD_IMAGE, str(e)))
            return
        except RuntimeError as e:  # MediaPipe's graph failures; WorkerDied (a worker process ended)
            log.exception("session %s: face inference failed", self.session_id)
            self.metrics.stage_failures.labels(self.name).inc()
            self.publish(StageError(self.name, ErrorCode.INFERENCE_FAILED, f"face inference failed: {e}"))
            return
        self.metrics.stage_seconds.labels("decode").observe(inferred.decode_s)
        self.metrics.stage_seconds.labels("inference").observe(inferred.inference_s)
        self.publish(FaceResult(inferred.features, pending.received_s))

    def close(self) -> None:
        super().close()
        if self.workers is not None:
            self.workers.release(self.session_id)

    def _forget(self) -> None:
        self._pending = None

    def _release(self) -> None:
        # MediaPipe must be closed explicitly: a landmarker left to the garbage collector
        # can deadlock MediaPipe's dispatcher while another one is being created.
        if self._tracker is not None:
            self._tracker.close()
            self._tracker = None
