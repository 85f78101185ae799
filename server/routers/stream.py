"""The WebSocket endpoints, handed to the WebSocket transport."""

from __future__ import annotations

from fastapi import APIRouter, Query, WebSocket

from ..transports.websocket import serve_publisher, serve_watcher
from .deps import services_of

router = APIRouter()


@router.websocket("/v1/stream")
async def stream(websocket: WebSocket) -> None:
    await serve_publisher(websocket, services_of(websocket))


@router.websocket("/v1/sessions/{session_id}/watch")
async def watch(
    websocket: WebSocket,
    session_id: str,
    format: str = Query("named"),
    encoding: str = Query("cbor"),
    token: str | None = Query(None),
    wait: bool = Query(False),
) -> None:
    await serve_watcher(
        websocket,
        services_of(websocket),
        session_id,
        format,
        encoding,
        token,
        wait,
    )
