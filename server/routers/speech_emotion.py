"""`POST /v1/speech-emotion`: the speech-emotion report of a recorded file.

The upload is decoded while it arrives (a bounded queue between the request and the
analysis thread), so a recording hours long is never held whole, in memory or on disk, and a
client's upload progress is the analysis's progress give or take the queue. The decoding
itself runs in a child process (pools/audio_decoder.py): a file that crashes FFmpeg fails its
request (422), not the server. A client holds the report slot only while it keeps sending:
an idle deadline between pieces of the body, a least upload rate, and a deadline for the whole.
"""

from __future__ import annotations

import asyncio
import queue
from collections.abc import Callable

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from ..inference.audio_file import AudioFileError, ByteStream
from ..models.store import ModelError
from ..pools.audio_decoder import ChildDecoder, DecoderFailed
from ..services import Services
from ..settings import Settings
from ..tools.speech_emotion import SpeechEmotionReport, analyze_speech_emotion, options_for, scorer_for
from ..tools.speech_emotion_html import render
from .deps import ServicesDep, body_budget_held

router = APIRouter()
# What a streamed upload holds at most, counted in the server's budget of bodies in flight: the
# queue to the decoder (16 pieces of up to 64 KiB) and the two pipe buffers of the child.
HELD_BYTES = (16 + 2) * 64 * 1024


@router.post("/v1/speech-emotion")
async def speech_emotion(
    request: Request,
    svc: ServicesDep,
    format: str = Query("json"),
    title: str = Query("", max_length=200),
) -> Response:
    """Body: a recording (WAV, FLAC, OGG, MP3, M4A, ...; any length up to the server's
    limits). Returns its report as JSON, or as the HTML page with format=html."""
    settings = svc.settings
    if format not in ("json", "html"):
        raise HTTPException(422, "format must be json or html")
    if not settings.emotion_inference:
        raise HTTPException(403, "emotion inference is disabled on this server (AVATAR_DRIVER_EMOTION_INFERENCE)")
    if svc.edge is not None:
        raise HTTPException(503, "a cluster edge runs no models; send reports to a server of role all")
    limit = settings.speech_emotion_max_bytes
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise HTTPException(413, f"the recording is over the limit of {limit} bytes")
    try:
        vad = svc.models.require("silero_vad")
    except ModelError as e:
        raise HTTPException(503, str(e)) from None
    if svc.speech_emotion_running >= settings.speech_emotion_jobs:
        svc.metrics.speech_emotion_reports.labels("busy").inc()
        raise HTTPException(
            503,
            "the server is already making as many reports as it may at once; try again",
            headers={"Retry-After": "10"},
        )
    svc.speech_emotion_running += 1
    stream = ByteStream()
    decode = ChildDecoder(settings.speech_emotion_decoder_memory_bytes)

    def run() -> SpeechEmotionReport:
        try:
            return analyze_speech_emotion(stream, vad, scorer_for(svc.speech), options_for(settings), decode=decode)
        finally:
            stream.close()  # a feeder still waiting to hand over bytes stops

    job = asyncio.get_running_loop().run_in_executor(None, run)
    job.add_done_callback(_release(svc))
    uploading = True
    try:
        async with asyncio.timeout(settings.speech_emotion_timeout_s):
            async with body_budget_held(request, HELD_BYTES, "the recording"):
                await _feed(request, stream, limit, settings)
            uploading = False
            report = await asyncio.shield(job)  # on the deadline the job ends by its stream's closing
    except TimeoutError:
        svc.metrics.speech_emotion_reports.labels("timeout").inc()
        what = "the upload" if uploading else "the report"
        raise HTTPException(
            408 if uploading else 503, f"{what} took longer than {settings.speech_emotion_timeout_s:g} s"
        ) from None
    except UploadStalled as e:
        svc.metrics.speech_emotion_reports.labels("timeout").inc()
        raise HTTPException(408, str(e)) from None
    except DecoderFailed as e:
        svc.metrics.speech_emotion_reports.labels("decoder_failed").inc()
        raise HTTPException(422, str(e)) from None
    except AudioFileError as e:
        svc.metrics.speech_emotion_reports.labels("bad_audio").inc()
        raise HTTPException(422, str(e)) from None
    finally:
        stream.close()  # on a refusal, a deadline or a client gone: the decoder is killed, the analysis stops
        await asyncio.wait({job})
    svc.metrics.speech_emotion_reports.labels("ok").inc()
    if format == "html":
        return HTMLResponse(render(report, title or "Speech emotion report"))
    return JSONResponse(report.as_dict())


class UploadStalled(Exception):
    """The client stopped sending, or sends too slowly to be worth the report slot."""


async def _feed(request: Request, stream: ByteStream, limit: int, settings: Settings) -> None:
    """The body into the stream, waiting whenever the analysis is behind; 413 past ``limit``;
    UploadStalled when no piece arrives for ``speech_emotion_idle_s``, or once the time spent
    waiting on the client is over that, when it has sent less than
    ``speech_emotion_min_upload_bytes_per_s`` over it (1 byte every 5 s held the slot forever)."""
    idle, least = settings.speech_emotion_idle_s, settings.speech_emotion_min_upload_bytes_per_s
    clock = asyncio.get_running_loop().time
    received, waited = 0, 0.0
    chunks = request.stream()
    while True:
        started = clock()
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow the report's own deadline
            # (the outer timeout's cancellation) when a piece arrives at the same moment.
            async with asyncio.timeout(idle):
                chunk = await anext(chunks)
        except StopAsyncIteration:
            break
        except TimeoutError:
            raise UploadStalled(f"no part of the recording arrived for {idle:g} s") from None
        waited += clock() - started
        received += len(chunk)
        if waited > idle and received < least * waited:
            raise UploadStalled(
                f"the recording arrives at {received / waited:.0f} bytes/s; at least {least:g} bytes/s are needed"
            )
        if received > limit:
            raise HTTPException(413, f"the recording is over the limit of {limit} bytes")
        if not _hand_over(stream, chunk) and not await asyncio.to_thread(stream.write_chunk, chunk):
            return  # the analysis ended early (undecodable audio): its error is the answer
    await asyncio.to_thread(stream.finish)


def _hand_over(stream: ByteStream, chunk: bytes) -> bool:
    """Without a thread hop when the queue has room."""
    try:
        return stream.write_chunk_nowait(chunk)
    except queue.Full:
        return False


def _release(svc: Services) -> Callable[[asyncio.Future[SpeechEmotionReport]], None]:
    def done(job: asyncio.Future[SpeechEmotionReport]) -> None:
        svc.speech_emotion_running -= 1
        if not job.cancelled():
            job.exception()  # retrieved: after a refusal its "stream was closed" is expected

    return done
