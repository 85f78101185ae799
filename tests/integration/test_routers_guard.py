"""REST behind the same door as the stream: the token on every route but /healthz, the Origin
allow-list against cross-site requests, the watch-only token, tokens kept out of logs."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import cbor2
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from server.app import create_app
from server.routers.guard import RedactTokens
from server.settings import Settings
from tests.support.ws_client import hello, recv

TOKEN, WATCH = "s3cret-full", "s3cret-watch"
PUBLIC = {"/healthz"}
WATCHABLE = {("GET", "/v1/rigs/x1/avatar")}  # what a watcher or OBS overlay draws: the watch token opens it too


@pytest.fixture()
def locked(settings: Settings) -> Iterator[TestClient]:
    settings.token, settings.watch_token = TOKEN, WATCH
    with TestClient(create_app(settings)) as c:
        yield c


def routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every HTTP endpoint, from the app's own OpenAPI description."""
    return [
        (method.upper(), re.sub(r"\{[^}]+\}", "x1", path))
        for path, methods in app.openapi()["paths"].items()
        for method in methods
    ]


def test_every_endpoint_but_healthz_needs_the_token_as_a_bearer_header(locked: TestClient) -> None:
    """With AVATAR_DRIVER_TOKEN set, calibration, recordings, rig upload, votes and animate all
    used to answer without it."""
    checked = 0
    assert isinstance(locked.app, FastAPI)
    for method, path in routes(locked.app):
        anonymous = locked.request(method, path)
        in_url = locked.request(method, path, params={"token": TOKEN})
        wrong = locked.request(method, path, headers={"Authorization": "Bearer nope"})
        watch_only = locked.request(method, path, headers={"Authorization": f"Bearer {WATCH}"})
        allowed = locked.request(method, path, headers={"Authorization": f"Bearer {TOKEN}"})
        if path in PUBLIC:
            assert anonymous.status_code == 200
            continue
        checked += 1
        watchable = (method, path) in WATCHABLE
        for r in (anonymous, in_url, wrong) if watchable else (anonymous, in_url, wrong, watch_only):
            assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer", (method, path, r.status_code)
        assert allowed.status_code != 401, (method, path)
        assert not watchable or watch_only.status_code != 401, (method, path)
    assert checked >= 12  # metrics, rigs (3), strategies, calibration (4), recordings (3), animate, votes (2)


def test_a_page_on_another_site_cannot_use_the_rest_api(settings: Settings, avatars: Path) -> None:
    """A cross-site text/plain POST used to upload a rig (CSRF)."""
    with TestClient(create_app(settings)) as c:
        evil = c.post(
            "/v1/rigs?filename=x.glb",
            content=(avatars / "vroid.glb").read_bytes(),
            headers={"Origin": "https://evil.example", "Content-Type": "text/plain"},
        )
        assert evil.status_code == 403 and "not allowed" in evil.json()["detail"]
        assert c.get("/v1/rigs", headers={"Origin": "https://evil.example"}).status_code == 403
        assert c.get("/v1/rigs", headers={"Origin": "http://localhost:5173"}).status_code == 200
        assert c.get("/v1/rigs").status_code == 200  # no Origin: not a browser page


def test_the_watch_token_watches_and_does_nothing_else(locked: TestClient) -> None:
    with locked.websocket_connect("/v1/stream") as ws:
        ws.send_bytes(hello(camera=False, token=WATCH))
        assert recv(ws)["payload"]["code"] == "auth_failed"
    with locked.websocket_connect("/v1/stream") as ws:
        ws.send_bytes(hello(camera=False, token=TOKEN))
        sid = recv(ws)["payload"]["session_id"]
        with locked.websocket_connect(f"/v1/sessions/{sid}/watch?token={WATCH}") as watcher:
            assert recv(watcher)["payload"]["watching"] is True
        with (
            pytest.raises(WebSocketDisconnect) as e,
            locked.websocket_connect(f"/v1/sessions/{sid}/watch?token=guess") as watcher,
        ):
            recv(watcher)
        assert e.value.code == 1008
        ws.send_bytes(cbor2.dumps({"type": "bye", "payload": {}}))


def test_tokens_never_reach_the_logs() -> None:
    """uvicorn logs a watcher's URL, query string included."""
    record = logging.LogRecord(
        "uvicorn.error",
        logging.INFO,
        __file__,
        1,
        '%s - "WebSocket %s" %s',
        ("127.0.0.1:5555", f"/v1/sessions/abc/watch?format=packed&token={WATCH}", "[accepted]"),
        None,
    )
    assert RedactTokens().filter(record)
    line = record.getMessage()
    assert WATCH not in line and "token=***" in line and "format=packed" in line
    plain = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, f"GET /x?token={TOKEN} 200", None, None)
    RedactTokens().filter(plain)
    assert TOKEN not in plain.getMessage()
