"""Face and voice inference in worker processes: real models, a real photo and real speech, a
worker killed mid-session."""

import asyncio
import os
import signal
from collections.abc import Iterator
from multiprocessing.process import BaseProcess
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from server.inference.face import FaceTrackerOptions
from server.inference.input_frame import ImageDecodeError
from server.pools.inference_jobs import Inferred
from server.pools.inference_pool import InferenceWorkerPool, WorkerDied
from server.protocol.bus import VoiceResult
from server.protocol.messages import VideoFrame
from tests.support.media import espeak, jpeg, pcm16
from tests.support.stages import assert_speech_was_analysed, run_voice_stage, speech_in_silence


@pytest.fixture(scope="module")
def pool() -> Iterator[InferenceWorkerPool]:
    p = InferenceWorkerPool(2, 1920 * 1080)
    yield p
    p.close()


def test_sessions_are_spread_over_the_workers_and_tracked_there(
    pool: InferenceWorkerPool, model_path: Path, astronaut: npt.NDArray[np.uint8], cat: npt.NDArray[np.uint8]
) -> None:
    async def scenario() -> tuple[Inferred, Inferred, set[int | None]]:
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


def test_a_bad_image_is_a_bad_image_and_the_worker_goes_on(
    pool: InferenceWorkerPool, model_path: Path, astronaut: npt.NDArray[np.uint8]
) -> None:
    async def scenario() -> Inferred:
        options = FaceTrackerOptions(model_path)
        with pytest.raises(ImageDecodeError):
            await pool.infer("c", options, VideoFrame(1, image=b"\xff\xd8\xff" + b"\x00" * 50))
        return await pool.infer("c", options, VideoFrame(2, image=jpeg(astronaut)))

    assert asyncio.run(scenario()).features.present
    pool.release("c")


def test_a_killed_worker_fails_its_request_and_the_session_moves_on_to_a_new_one(
    model_path: Path, astronaut: npt.NDArray[np.uint8]
) -> None:
    pool = InferenceWorkerPool(1, 1920 * 1080)
    try:

        async def scenario() -> tuple[BaseProcess, Inferred]:
            options = FaceTrackerOptions(model_path)
            frame = VideoFrame(1, image=jpeg(astronaut))
            assert (await pool.infer("d", options, frame)).features.present
            old = pool._workers[0].process
            request = asyncio.ensure_future(pool.infer("d", options, VideoFrame(2, image=jpeg(astronaut))))
            assert old.pid is not None
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


def test_voice_is_analysed_in_the_sessions_worker_as_on_a_thread(pool: InferenceWorkerPool, tmp_path: Path) -> None:
    """The same speech, chunk by chunk: a worker's analyzer says what one in this process says,
    and a prototype update sent between chunks applies from the next chunk."""
    from server.live.calibration import DEFAULT_PROTOTYPES
    from server.models.store import ModelStore
    from server.pools.inference_jobs import VoiceOptions, analyse_chunk, new_voice_analyzer
    from server.protocol.messages import AudioChunk
    from server.settings import Settings
    from tests.support.media import espeak, pcm16

    speech = pcm16(espeak("Open the window, please."))
    chunks = [AudioChunk(1000 + i // 16, speech[i : i + 1600].tobytes(), 16000) for i in range(0, len(speech), 1600)]
    options = VoiceOptions(ModelStore(Settings().models).require("silero_vad"), DEFAULT_PROTOTYPES)
    local = new_voice_analyzer(options)
    here = [analyse_chunk(local, c).voice for c in chunks]

    async def scenario() -> list[VoiceResult | None]:
        return [(await pool.analyse("v", options, c)).voice for c in chunks]

    there = asyncio.run(scenario())
    pool.release("v")
    assert len(there) == len(here) and sum(r is not None for r in there) >= 5
    for a, b in zip(here, there, strict=True):
        assert (a is None) == (b is None)
        if a is not None:
            assert b is not None
            assert abs(a.features.speaking_probability - b.features.speaking_probability) < 1e-4
            assert a.features.viseme == b.features.viseme
            np.testing.assert_allclose(a.mfcc, b.mfcc, atol=1e-4)


def test_the_voice_stage_analyses_in_a_worker_process_as_on_its_thread() -> None:
    """`serve --workers N`: the voice stage's chunks go to its pinned worker; the same results."""
    pcm = speech_in_silence(pcm16(espeak("Good morning, how are you doing today?")))
    pool = InferenceWorkerPool(1, 1920 * 1080)
    try:
        voices, windows, metrics = run_voice_stage(pcm, pool)
    finally:
        pool.close()
    assert_speech_was_analysed(pcm, voices, windows, metrics)
