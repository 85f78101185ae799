"""A client's side of the WebSocket protocol, for tests driving the app through Starlette's
TestClient: messages as a client encodes them, and what comes back, decoded."""

from __future__ import annotations

import json
from typing import Any

import cbor2
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect


def msg(kind: str, payload: dict[str, Any] | None = None, seq: int = 0) -> bytes:
    return cbor2.dumps({"type": kind, "session_id": None, "timestamp_ms": 0, "sequence": seq, "payload": payload or {}})


def hello(camera: bool = True, microphone: bool = False, **extra: Any) -> bytes:
    return msg("hello", {"consent": {"camera": camera, "microphone": microphone}, **extra})


def recv(ws: WebSocketTestSession) -> Any:
    """The next message (CBOR or JSON), decoded; WebSocketDisconnect when the server closed."""
    m = ws.receive()
    if m["type"] == "websocket.close":
        raise WebSocketDisconnect(m.get("code", 1000))
    return cbor2.loads(m["bytes"]) if m.get("bytes") is not None else json.loads(m["text"])


def recv_until(ws: WebSocketTestSession, kind: str, limit: int = 400) -> Any:
    """The first message of type ``kind`` (a packed avatar frame counts as avatar_frame)."""
    for _ in range(limit):
        m = recv(ws)
        if m.get("type", m.get(0)) in (kind, 1 if kind == "avatar_frame" else None):
            return m
    raise AssertionError(f"no {kind} within {limit} messages")
