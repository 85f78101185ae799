"""The face stage with the real model: frames in over the bus, features or a specific error
out, latest frame wins, and the model released on close."""

import asyncio
import time
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from server.inference.face import FaceTrackerOptions
from server.live.bus import InProcessBus
from server.live.face_stage import FaceStage
from server.metrics import Metrics
from server.protocol.bus import BusMessage, FaceResult, ReceivedVideo, StageError, Topic
from server.protocol.constants import ErrorCode
from server.protocol.messages import VideoFrame


def jpeg(rgb: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))[1].tobytes()


def test_frames_become_features_errors_are_specific_and_the_newest_frame_wins(
    model_path: Path, astronaut: npt.NDArray[np.uint8]
) -> None:
    async def scenario() -> tuple[list[BusMessage], Metrics, InProcessBus]:
        bus, metrics = InProcessBus(), Metrics()
        stage = FaceStage("s1", bus, FaceTrackerOptions(model_path), 1920 * 1080, metrics)
        results: list[BusMessage] = []
        bus.subscribe("s1", Topic.FACE, results.append)
        bus.subscribe("s1", Topic.STAGE_ERROR, results.append)
        await stage.start()
        image = jpeg(astronaut)
        bus.publish("s1", ReceivedVideo(VideoFrame(1000, image=image), 7.5))
        await asyncio.sleep(0)  # the stage takes it to its thread
        for k in range(1, 4):  # three more while the first is being tracked: only the last is kept
            bus.publish("s1", ReceivedVideo(VideoFrame(1000 + 33 * k, image=image), 7.5 + k))
        t0 = time.monotonic()
        while len(results) < 2 and time.monotonic() - t0 < 20:
            await asyncio.sleep(0.01)
        bus.publish("s1", ReceivedVideo(VideoFrame(2000, image=b"not an image"), 9.0))
        bus.publish("s1", ReceivedVideo(VideoFrame(2001, rgb=b"\x00" * 11, width=2, height=2), 9.0))
        while len(results) < 3 and time.monotonic() - t0 < 20:
            await asyncio.sleep(0.01)
        stage.close()
        return results, metrics, bus

    results, metrics, bus = asyncio.run(scenario())
    faces = [r for r in results if isinstance(r, FaceResult)]
    assert [f.features.capture_ms for f in faces] == [1000, 1099]  # 1033 and 1066 were replaced
    assert faces[0].received_s == 7.5 and faces[0].features.present
    assert faces[0].features.blendshapes[43] > 0.5  # the astronaut smiles
    errors = [r for r in results if isinstance(r, StageError)]
    assert errors and errors[0].code == ErrorCode.BAD_IMAGE and errors[0].stage == "face"
    dropped = metrics.registry.get_sample_value("avatar_driver_frames_dropped_total", {"reason": "stale"})
    assert dropped is not None and dropped >= 2
    assert bus.subscriptions == 2  # the stage's own subscription is gone
