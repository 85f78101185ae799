"""The FastAPI application factory."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Query, WebSocket
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

from . import __version__
from .connections import CLOSE_POLICY, PublisherConnection, origin_allowed, run_watcher, token_ok
from .metrics import Metrics
from .models.store import ModelStore
from .outbox import Outbox
from .rig_store import RigStore
from .session import Session
from .settings import Settings

log = logging.getLogger(__name__)
LANDING_PAGE = Path(__file__).with_name("static") / "index.html"


@dataclass
class AppState:
    settings: Settings
    rigs: RigStore
    models: ModelStore
    metrics: Metrics = field(default_factory=Metrics)
    sessions: dict[str, Session] = field(default_factory=dict)
    watchers: dict[str, list[Outbox]] = field(default_factory=dict)

    def limits(self) -> dict[str, Any]:
        s = self.settings
        return {"max_message_bytes": s.max_message_bytes, "max_messages_per_s": s.max_messages_per_s,
                "max_image_pixels": s.max_image_pixels, "max_rate_hz": s.max_rate_hz}


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    state = AppState(settings, RigStore.from_dir(settings.rigs_dir), ModelStore(settings.models, progress=False))
    app = FastAPI(title="avatar-driver", version=__version__,
                  description="Tracks a face from webcam frames and streams avatar animation frames.")
    app.state.avatar = state

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "sessions": len(state.sessions),
                "models": {"face_landmarker": state.models.path("face_landmarker").is_file()}}

    @app.get("/v1/rigs")
    def list_rigs() -> list[dict[str, Any]]:
        return [{"id": r.id, "name": r.name, "description": r.description, "channels": len(r.channels),
                 "bones": list(r.bone_names)} for r in state.rigs.all()]

    @app.get("/v1/rigs/{rig_id}")
    def get_rig(rig_id: str) -> dict[str, Any]:
        rig = state.rigs.get(rig_id)
        if rig is None:
            raise HTTPException(404, f"unknown rig {rig_id!r}; available: {state.rigs.ids()}")
        return rig.to_dict()

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(state.metrics.render(), media_type="text/plain; version=0.0.4")

    @app.websocket("/v1/stream")
    async def stream(websocket: WebSocket) -> None:
        if not origin_allowed(websocket.headers.get("origin"), settings.allowed_origins):
            await websocket.close(CLOSE_POLICY, reason="origin not allowed")
            return
        await PublisherConnection(websocket, state).run()

    @app.websocket("/v1/sessions/{session_id}/watch")
    async def watch(websocket: WebSocket, session_id: str, format: str = Query("named"),
                    encoding: str = Query("cbor"), token: str | None = Query(None)) -> None:
        if not origin_allowed(websocket.headers.get("origin"), settings.allowed_origins):
            await websocket.close(CLOSE_POLICY, reason="origin not allowed")
            return
        if not token_ok(settings.token, token):
            await websocket.close(CLOSE_POLICY, reason="missing or wrong token")
            return
        if format not in ("named", "packed") or encoding not in ("cbor", "json"):
            await websocket.close(CLOSE_POLICY, reason="format must be named|packed and encoding cbor|json")
            return
        await run_watcher(websocket, state, session_id, format, encoding)  # type: ignore[arg-type]

    if (settings.web_dir / "index.html").is_file():
        app.mount("/", StaticFiles(directory=settings.web_dir, html=True), name="web")
    else:
        @app.get("/", include_in_schema=False)
        def landing() -> FileResponse:
            return FileResponse(LANDING_PAGE)

    return app
