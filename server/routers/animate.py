"""`POST /v1/animate`: a spoken line's viseme timeline.

The body is watched while it arrives (tools/wav_header.py): a WAV whose header says it is
longer than ``max_animate_seconds``, or that goes on past what that length can be, is refused
then, not after up to ``max_animate_bytes`` of it have been read.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.types import Message

from ..models.store import ModelError
from ..protocol.codec import as_encoding, encode_map
from ..tools.animate import AnimateError, animate, recognize_line
from ..tools.wav_header import WavBodyWatch, WavRefused
from .deps import ServicesDep, read_body, run_tool

router = APIRouter()


@router.post("/v1/animate")
async def animate_line(
    request: Request,
    svc: ServicesDep,
    transcript: str | None = Query(None, max_length=2000),
    rate_hz: float = Query(60.0),
    lead_ms: float = Query(0.0),
    format: str = Query("json"),
) -> Response:
    """Body: a 16-bit PCM WAV of a spoken line. Returns its viseme timeline (JSON, or CBOR
    with format=cbor): forced alignment when a transcript is given, phone recognition otherwise;
    ``lead_ms`` (0–200) moves the mouth ahead of the sound, as animators do (a frame or two)."""
    encoding = as_encoding(format)
    if encoding is None:
        raise HTTPException(422, "format must be json or cbor")
    max_s = svc.settings.max_animate_seconds
    try:
        data = await read_body(_watched(request, WavBodyWatch(max_s)), svc.settings.max_animate_bytes, "the WAV file")
    except WavRefused as e:
        raise HTTPException(422, str(e)) from None
    try:
        vad = svc.models.require("silero_vad")
        # SenseVoice runs on its own thread here (one model for the server); pocketsphinx in a worker.
        speech = (
            await run_in_threadpool(recognize_line, data, svc.speech.recognize_blocking, max_s)
            if svc.speech.available
            else None
        )
        if speech is not None and not svc.settings.emotion_inference:
            speech = speech.without_emotion()
        timeline = await run_tool(svc, animate, data, transcript, rate_hz, vad, speech, max_s, lead_ms)
    except AnimateError as e:
        raise HTTPException(422, str(e)) from None
    except ModelError as e:
        raise HTTPException(503, str(e)) from None
    media = "application/cbor" if encoding == "cbor" else "application/json"
    return Response(encode_map(timeline, encoding), media_type=media)


def _watched(request: Request, watch: WavBodyWatch) -> Request:
    """The same request, its body fed to ``watch`` as each piece arrives (WavRefused stops the read)."""

    async def receive() -> Message:
        message = await request.receive()
        if message["type"] == "http.request":
            watch.feed(message.get("body", b""))
        return message

    return Request(request.scope, receive)
