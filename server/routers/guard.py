"""The door of every HTTP endpoint: the Origin allow-list (a page on another site cannot make
a browser upload, change or read anything: CSRF) and the token.

`OriginGuard` is ASGI middleware in front of the whole app (WebSockets check their Origin in
the transport, where a refusal can carry a close code); `require_token` is the dependency of
every router but /healthz. The viewer's static files need neither: they hold no data.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TypeVar

from fastapi import HTTPException, Request
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from ..access import bearer, may_watch, origin_allowed, token_ok
from .deps import services_of

Endpoint = TypeVar("Endpoint", bound=Callable[..., object])
_WATCHABLE = "__avatar_driver_watchable__"


def watch_token_allowed(endpoint: Endpoint) -> Endpoint:
    """Marks a read-only endpoint that watchers need (the avatar file a welcome names): the
    watch token (AVATAR_DRIVER_WATCH_TOKEN) opens it as well as the full token. Still a Bearer
    header, never a token in the URL."""
    setattr(endpoint, _WATCHABLE, True)
    return endpoint


class OriginGuard:
    def __init__(self, app: ASGIApp, allowed_origins: str):
        self.app = app
        self.allowed_origins = allowed_origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            origin = Headers(scope=scope).get("origin")
            if not origin_allowed(origin, self.allowed_origins):
                response = JSONResponse(
                    {"detail": f"origin {origin!r} is not allowed (AVATAR_DRIVER_ALLOWED_ORIGINS)"}, status_code=403
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def require_token(request: Request) -> None:
    """With a token configured: `Authorization: Bearer <token>` (never in the URL, which logs keep);
    the watch token as well on the endpoints marked `watch_token_allowed`."""
    settings = services_of(request).settings
    expected, given = settings.token, bearer(request.headers.get("authorization"))
    if getattr(request.scope.get("endpoint"), _WATCHABLE, False):
        if not may_watch(expected, settings.watch_token, given):
            raise HTTPException(
                401,
                "this endpoint needs `Authorization: Bearer <token>` (AVATAR_DRIVER_TOKEN or _WATCH_TOKEN)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return
    if expected is not None and not token_ok(expected, given):
        raise HTTPException(
            401,
            "this endpoint needs `Authorization: Bearer <token>` (AVATAR_DRIVER_TOKEN)",
            headers={"WWW-Authenticate": "Bearer"},
        )


class RedactTokens(logging.Filter):
    """Replaces `token=…` in log lines (a watcher's URL carries its token) by `token=***`."""

    _TOKEN = re.compile(r"(token=)[^&\s\"']+")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(self._TOKEN.sub(r"\1***", a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = self._TOKEN.sub(r"\1***", record.msg)
        return True


def redact_tokens_in_logs() -> None:
    """Installs RedactTokens on uvicorn's loggers (access lines and WebSocket lines), once."""
    for name in ("uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
