"""`GET /healthz`: the status, for load balancers and people; the one endpoint without a token."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from .. import __version__
from .deps import ServicesDep

router = APIRouter()


@router.get("/healthz")
def healthz(svc: ServicesDep) -> dict[str, Any]:
    models = svc.models
    return {
        "status": "ok",
        "version": __version__,
        "sessions": len(svc.registry),
        "models": {name: models.path(name).exists() for name in sorted(models.manifest)},
        "speech_recognition": svc.speech.status.as_dict(),
    }
