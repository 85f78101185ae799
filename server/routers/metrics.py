"""`GET /metrics`: Prometheus metrics (session counts, rates, errors: behind the token)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from ..services import Services
from .deps import services

router = APIRouter()


@router.get("/metrics")
def metrics(svc: Services = Depends(services)) -> Response:
    return Response(svc.metrics.render(), media_type="text/plain; version=0.0.4")
