"""`GET /metrics`: Prometheus metrics (session counts, rates, errors: behind the token)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from .deps import ServicesDep

router = APIRouter()


@router.get("/metrics")
def metrics(svc: ServicesDep) -> Response:
    return Response(svc.metrics.render(), media_type="text/plain; version=0.0.4")
