"""`POST /v1/speech-emotion`: the speech-emotion report of a recorded file.

The upload is decoded while it arrives (a bounded queue between the request and the
analysis thread), so a recording hours long is never held whole, in memory or on disk, and a
client's upload progress is the analysis's progress give or take the queue.
"""

from __future__ import annotations

import asyncio
import queue
from collections.abc import Callable

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from ..inference.audio_file import AudioFileError, ByteStream
from ..models.store import ModelError
from ..services import Services
from ..tools.speech_emotion import SpeechEmotionReport, analyze_speech_emotion, options_for, scorer_for
from ..tools.speech_emotion_html import render
from .deps import ServicesDep

router = APIRouter()


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

    def run() -> SpeechEmotionReport:
        try:
            return analyze_speech_emotion(stream, vad, scorer_for(svc.speech), options_for(settings))
        finally:
            stream.close()  # a feeder still waiting to hand over bytes stops

    job = asyncio.get_running_loop().run_in_executor(None, run)
    job.add_done_callback(_release(svc))
    try:
        await _feed(request, stream, limit)
        report = await job
    except AudioFileError as e:
        svc.metrics.speech_emotion_reports.labels("bad_audio").inc()
        raise HTTPException(422, str(e)) from None
    finally:
        stream.close()  # on a refusal or a client gone, the analysis stops at its next read
        await asyncio.wait({job})
    svc.metrics.speech_emotion_reports.labels("ok").inc()
    if format == "html":
        return HTMLResponse(render(report, title or "Speech emotion report"))
    return JSONResponse(report.as_dict())


async def _feed(request: Request, stream: ByteStream, limit: int) -> None:
    """The body into the stream, waiting whenever the analysis is behind; 413 past ``limit``."""
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
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
