"""The FastAPI application: wiring only. Services open in the lifespan; endpoints live in
routers/, the WebSocket transport in transports/, sessions in live/."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from . import __version__
from .routers import ab, animate, calibration, health, recordings, rigs, stream
from .services import Services
from .settings import Settings

LANDING_PAGE = Path(__file__).with_name("static") / "index.html"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.services = await run_in_threadpool(Services.open, settings)
        try:
            yield
        finally:
            app.state.services.close()

    app = FastAPI(title="avatar-driver", version=__version__, lifespan=lifespan,
                  description="Tracks a face from webcam frames and streams avatar animation frames.")
    for module in (health, rigs, calibration, recordings, animate, ab, stream):
        app.include_router(module.router)
    if (settings.web_dir / "index.html").is_file():
        app.mount("/", StaticFiles(directory=settings.web_dir, html=True), name="web")
    else:
        app.add_api_route("/", lambda: FileResponse(LANDING_PAGE), include_in_schema=False)
    return app
