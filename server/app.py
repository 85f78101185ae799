"""The FastAPI application: wiring only. Services open in the lifespan; endpoints live in
routers/, the WebSocket transport in transports/, sessions in live/."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from . import __version__
from .inference.vmc_input import VmcLimits, VmcListener
from .routers import ab, animate, calibration, health, metrics, recordings, rigs, speech_emotion, stream, users, webrtc
from .routers.body_budget import BodyBudget, BodyBudgetMiddleware
from .routers.guard import OriginGuard, redact_tokens_in_logs, require_token
from .routers.unavailable import store_unavailable
from .services import Services
from .settings import Settings
from .stores.unavailable import StoreUnavailable
from .transports.webrtc import WebRtcTransport

LANDING_PAGE = Path(__file__).with_name("static") / "index.html"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        node = None
        if settings.cluster:  # many machines: this process's role on the cluster (docs/scaling.md)
            from .cluster.node import ClusterNode, open_shared_stores

            shared = await run_in_threadpool(open_shared_stores, settings)
            services = await run_in_threadpool(Services.open, settings, None, shared)
            node = ClusterNode(services)
            await node.start()
        else:
            services = await run_in_threadpool(Services.open, settings)
        app.state.services = services
        app.state.webrtc = WebRtcTransport(services)
        if settings.vmc_listen:
            services.vmc_input = await VmcListener.open(
                settings.vmc_listen_host, settings.vmc_listen, services.metrics, VmcLimits.from_settings(settings)
            )
        housekeeping = asyncio.create_task(services.housekeeping(), name="housekeeping")
        try:
            yield
        finally:
            housekeeping.cancel()
            await app.state.webrtc.close()
            if services.vmc_input is not None:
                services.vmc_input.close()
            if node is not None:
                await node.close()
            services.close()

    app = FastAPI(
        title="avatar-driver",
        version=__version__,
        lifespan=lifespan,
        description="Tracks a face from webcam frames and streams avatar animation frames.",
    )
    redact_tokens_in_logs()
    app.add_exception_handler(StoreUnavailable, store_unavailable)  # the cluster's stores down: 503
    app.add_middleware(BodyBudgetMiddleware, budget=BodyBudget(settings.max_body_bytes_in_flight))
    app.add_middleware(OriginGuard, allowed_origins=settings.allowed_origins)  # outermost: first to refuse
    app.include_router(health.router)
    app.include_router(stream.router)  # WebSockets: the transport checks origin and token
    for module in (metrics, rigs, calibration, recordings, animate, speech_emotion, ab, users, webrtc):
        app.include_router(module.router, dependencies=[Depends(require_token)])
    if (settings.web_dir / "index.html").is_file():
        app.mount("/", StaticFiles(directory=settings.web_dir, html=True), name="web")
    else:
        app.add_api_route("/", lambda: FileResponse(LANDING_PAGE), include_in_schema=False)
    return app
