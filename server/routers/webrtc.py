"""`POST /v1/webrtc/offer`: WebRTC signalling, handed to the WebRTC transport."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request

from ..protocol.codec import ProtocolError
from ..protocol.constants import ErrorCode
from ..protocol.messages import WebRtcOffer
from .deps import ServicesDep, read_json

router = APIRouter()
_STATUS = {ErrorCode.AUTH_FAILED: 401, ErrorCode.SERVER_BUSY: 503}


@router.post("/v1/webrtc/offer")
async def offer(request: Request, svc: ServicesDep) -> dict[str, Any]:
    """Body: `{sdp, type: "offer", hello}` (hello: what a WebSocket's hello carries, token
    included; with a server token, the request needs it as a Bearer header too, as every REST
    request does). Answers `{sdp, type: "answer"}`; a refusal is 400/401/503 with the protocol's
    error `{code, message}` as its detail: 400 `bad_message` for an SDP over the webrtc_max_sdp_*
    limits or not a session description (checked before aiortc reads it), 503 `server_busy` when
    sessions and offers not yet sessions fill max_sessions."""
    body = await read_json(request, svc.settings.max_json_bytes)
    try:
        answer = await request.app.state.webrtc.accept(WebRtcOffer.parse(body))
    except ProtocolError as e:
        svc.metrics.client_errors.labels(str(e.code)).inc()
        raise HTTPException(_STATUS.get(e.code, 400), {"code": str(e.code), "message": e.message}) from None
    return {"sdp": answer, "type": "answer"}
