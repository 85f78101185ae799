"""Face inference in worker processes: real model, real photo, a worker killed mid-session."""

import asyncio
import os
import signal

import cv2
import numpy as np
import pytest

from server.inference.face import FaceTrackerOptions
from server.inference.frame import ImageDecodeError
from server.live.face_workers import FaceWorkerPool, WorkerDied
from server.protocol.messages import VideoFrame


def jpeg(rgb: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))[1].tobytes()


@pytest.fixture(scope="module")
def pool():
    p = FaceWorkerPool(2, 1920 * 1080)
    yield p
    p.close()


def test_sessions_are_spread_over_the_workers_and_tracked_there(pool, model_path, astronaut, cat):
    async def scenario():
        options = FaceTrackerOptions(model_path)
        face, no_face = VideoFrame(1, image=jpeg(astronaut)), VideoFrame(2, image=jpeg(cat))
        a = await pool.infer("a", options, face)
        b = await pool.infer("b", options, no_face)
        return a, b, {pool.worker_of("a"), pool.worker_of("b")}
    a, b, workers = asyncio.run(scenario())
    assert a.features.present and a.features.blendshapes[:].max() > 0.5 and a.inference_s > 0
    assert not b.features.present
    assert workers == {0, 1}  # one session each: the least busy worker takes a new one
    pool.release("a")
    pool.release("b")
    assert pool.worker_of("a") is None


def test_a_bad_image_is_a_bad_image_and_the_worker_goes_on(pool, model_path, astronaut):
    async def scenario():
        options = FaceTrackerOptions(model_path)
        with pytest.raises(ImageDecodeError):
            await pool.infer("c", options, VideoFrame(1, image=b"\xff\xd8\xff" + b"\x00" * 50))
        return await pool.infer("c", options, VideoFrame(2, image=jpeg(astronaut)))
    assert asyncio.run(scenario()).features.present
    pool.release("c")


def test_a_killed_worker_fails_its_request_and_the_session_moves_on_to_a_new_one(model_path, astronaut):
    pool = FaceWorkerPool(1, 1920 * 1080)
    try:
        async def scenario():
            options = FaceTrackerOptions(model_path)
            frame = VideoFrame(1, image=jpeg(astronaut))
            assert (await pool.infer("d", options, frame)).features.present
            old = pool._workers[0].process
            request = asyncio.ensure_future(pool.infer("d", options, VideoFrame(2, image=jpeg(astronaut))))
            os.kill(old.pid, signal.SIGKILL)
            try:
                await asyncio.wait_for(request, 30)  # it may have answered before the kill landed
            except WorkerDied:
                pass
            for _ in range(100):  # the receiver thread notices the end
                if not pool._workers[0].alive:
                    break
                await asyncio.sleep(0.05)
            again = await pool.infer("d", options, VideoFrame(3, image=jpeg(astronaut)))
            return old, again
        old, again = asyncio.run(scenario())
        assert again.features.present and pool._workers[0].process.pid != old.pid
    finally:
        pool.close()
