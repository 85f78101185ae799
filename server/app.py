"""The FastAPI application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Body, FastAPI, HTTPException, Query, Request, WebSocket
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from avatar_mapping.rig import RigError
from calibration.store import CalibrationStore
from calibration.table import CalibrationError, CalibrationTable

from . import __version__
from .connections import CLOSE_POLICY, PublisherConnection, origin_allowed, run_watcher, token_ok
from .ab_stats import results as ab_results
from .ab_votes import VoteError, VoteStore, parse_vote
from .animate import AnimateError, animate
from .metrics import Metrics
from .models.store import ModelError, ModelStore
from .protocol.codec import encode_map
from .outbox import Outbox
from .rig_inspect import RigInspectError, inspect_bytes, rig_id_from_name
from .recording_store import RecordingStore
from .rig_store import RigStore
from .session import Session
from .speech_service import SpeechService
from .settings import Settings
from .strategy_registry import StrategyRegistry

log = logging.getLogger(__name__)
LANDING_PAGE = Path(__file__).with_name("static") / "index.html"


@dataclass
class AppState:
    settings: Settings
    rigs: RigStore
    models: ModelStore
    calibration: CalibrationStore
    strategies: StrategyRegistry
    votes: VoteStore
    speech: SpeechService
    recordings: RecordingStore
    metrics: Metrics = field(default_factory=Metrics)
    sessions: dict[str, Session] = field(default_factory=dict)
    watchers: dict[str, list[Outbox]] = field(default_factory=dict)

    def publish_calibration(self, table: CalibrationTable) -> int:
        """Store a new table version and apply it to the user's live sessions; returns the version."""
        version = self.calibration.put(table)
        self.apply_calibration(table.user_id, table)
        return version

    def apply_calibration(self, user_id: str, table: CalibrationTable | None) -> None:
        for session in list(self.sessions.values()):
            if session.hello.user_id == user_id:
                session.set_calibration(table or CalibrationTable.identity(user_id))

    @property
    def face_emotion_path(self) -> Path | None:
        """The face-emotion CNN when enabled and fetched (else emotion from AU prototypes only)."""
        return self.models.optional(self.settings.face_emotion_model) if self.settings.face_emotion else None

    def limits(self) -> dict[str, Any]:
        s = self.settings
        return {"max_message_bytes": s.max_message_bytes, "max_messages_per_s": s.max_messages_per_s,
                "max_image_pixels": s.max_image_pixels, "max_rate_hz": s.max_rate_hz}


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    state = AppState(settings, RigStore.from_dir(settings.rigs_dir, settings.data_dir / "rigs"),
                     ModelStore(settings.models, progress=False),
                     CalibrationStore(settings.data_dir / "calibration.sqlite3"), StrategyRegistry(settings.rigs_dir),
                     VoteStore(settings.data_dir / "ab_votes.sqlite3"),
                     SpeechService.from_settings(settings), RecordingStore(settings.data_dir / "recordings"))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(state.speech.load)
        yield
        state.speech.close()
        state.calibration.close()
        state.votes.close()

    app = FastAPI(title="avatar-driver", version=__version__, lifespan=lifespan,
                  description="Tracks a face from webcam frames and streams avatar animation frames.")
    app.state.avatar = state

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "sessions": len(state.sessions),
                "models": {name: state.models.path(name).exists() for name in sorted(state.models.manifest)},
                "speech_recognition": state.speech.status.as_dict()}

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

    @app.post("/v1/rigs", status_code=201)
    async def upload_rig(request: Request, id: str | None = Query(None, description="rig id (default: file name)"),
                         filename: str = Query("avatar.glb"), replace: bool = Query(False)) -> dict[str, Any]:
        """Body: the GLB/glTF/VRM file itself. Returns the rig definition built from it."""
        limit = settings.max_upload_bytes
        if int(request.headers.get("content-length") or 0) > limit:
            raise HTTPException(413, f"the file is over the upload limit of {limit} bytes")
        data = bytearray()
        async for chunk in request.stream():
            data += chunk
            if len(data) > limit:
                raise HTTPException(413, f"the file is over the upload limit of {limit} bytes")
        rig_id = id or Path(filename).stem
        try:
            rig = inspect_bytes(bytes(data), rig_id_from_name(rig_id), source=Path(filename).name)
            state.rigs.add(rig, replace=replace)
        except (RigInspectError, RigError) as e:
            raise HTTPException(422, str(e)) from None
        except FileExistsError as e:
            raise HTTPException(409, str(e)) from None
        return rig.to_dict()

    @app.get("/v1/strategies")
    def list_strategies() -> list[dict[str, Any]]:
        return state.strategies.describe()

    @app.get("/v1/calibration/{user_id}")
    def get_calibration(user_id: str, version: int | None = None) -> dict[str, Any]:
        """The user's newest table (or one version): also the export format."""
        table = state.calibration.get(user_id, version)
        if table is None:
            raise HTTPException(404, f"no calibration for user {user_id!r}")
        return table.to_dict()

    @app.get("/v1/calibration/{user_id}/history")
    def calibration_history(user_id: str) -> list[dict[str, int]]:
        return state.calibration.history(user_id)

    @app.put("/v1/calibration/{user_id}")
    def put_calibration(user_id: str, body: Any = Body(...)) -> dict[str, Any]:
        """Import a table (the JSON of GET); it applies to the user's live sessions at once."""
        try:
            table = CalibrationTable.from_dict(body, user_id)
        except CalibrationError as e:
            raise HTTPException(422, str(e)) from None
        return {"user_id": user_id, "version": state.publish_calibration(table)}

    @app.delete("/v1/calibration/{user_id}")
    def delete_calibration(user_id: str) -> dict[str, Any]:
        removed = state.calibration.delete(user_id)
        if not removed:
            raise HTTPException(404, f"no calibration for user {user_id!r}")
        state.apply_calibration(user_id, None)
        return {"user_id": user_id, "removed_versions": removed}

    @app.get("/v1/recordings")
    def list_recordings() -> list[dict[str, Any]]:
        """Feature recordings of sessions that consented (consent.record), for `avatar-driver ab`."""
        return state.recordings.list()

    @app.get("/v1/recordings/{recording_id}")
    def get_recording(recording_id: str) -> FileResponse:
        path = state.recordings.find(recording_id)
        if path is None:
            raise HTTPException(404, f"no recording {recording_id!r}")
        return FileResponse(path, media_type="application/cbor-seq", filename=path.name)

    @app.delete("/v1/recordings/{recording_id}")
    def delete_recording(recording_id: str) -> dict[str, Any]:
        path = state.recordings.find(recording_id)
        if path is None:
            raise HTTPException(404, f"no recording {recording_id!r}")
        path.unlink()
        return {"deleted": recording_id}

    @app.post("/v1/animate")
    async def animate_line(request: Request, transcript: str | None = Query(None, max_length=2000),
                           rate_hz: float = Query(60.0), format: str = Query("json")) -> Response:
        """Body: a 16-bit PCM WAV of a spoken line. Returns its viseme timeline (JSON, or CBOR
        with format=cbor): forced alignment when a transcript is given, phone recognition otherwise."""
        data = await request.body()
        if len(data) > settings.max_upload_bytes:
            raise HTTPException(413, f"the file is over the upload limit of {settings.max_upload_bytes} bytes")
        if format not in ("json", "cbor"):
            raise HTTPException(422, "format must be json or cbor")
        try:
            vad = state.models.require("silero_vad")
            timeline = await run_in_threadpool(animate, data, transcript, rate_hz, vad,
                                              state.speech.recognize_blocking)
        except AnimateError as e:
            raise HTTPException(422, str(e)) from None
        except ModelError as e:
            raise HTTPException(503, str(e)) from None
        if format == "cbor":
            return Response(encode_map(timeline, "cbor"), media_type="application/cbor")
        return Response(encode_map(timeline, "json"), media_type="application/json")

    @app.post("/v1/ab/votes", status_code=201)
    def post_vote(body: Any = Body(...)) -> dict[str, Any]:
        """One vote of an A/B trial: {trial_id, strategy_a, strategy_b, chosen: A|B, rating?, comment?, blind}."""
        try:
            return {"id": state.votes.add(parse_vote(body))}
        except VoteError as e:
            raise HTTPException(422, str(e)) from None

    @app.get("/v1/ab/results")
    def get_results() -> dict[str, Any]:
        return ab_results(state.votes.all())

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
