"""How an endpoint reaches the server's Services (opened in the app's lifespan)."""

from __future__ import annotations

from fastapi import Request
from starlette.requests import HTTPConnection

from ..services import Services


def services_of(connection: HTTPConnection) -> Services:
    return connection.app.state.services


def services(request: Request) -> Services:
    """FastAPI dependency: ``svc: Services = Depends(services)``."""
    return services_of(request)
