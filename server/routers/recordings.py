"""Feature recordings of sessions that consented (consent.record), for `avatar-driver ab`:
`GET /v1/recordings`, `GET`/`DELETE /v1/recordings/{id}`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

from .deps import ServicesDep

router = APIRouter()


@router.get("/v1/recordings")
def list_recordings(svc: ServicesDep) -> list[dict[str, Any]]:
    return svc.recordings.list()


@router.get("/v1/recordings/{recording_id}")
def get_recording(recording_id: str, svc: ServicesDep) -> FileResponse:
    path = svc.recordings.find(recording_id)
    if path is None:
        raise HTTPException(404, f"no recording {recording_id!r}")
    return FileResponse(path, media_type="application/cbor-seq", filename=path.name)


@router.delete("/v1/recordings/{recording_id}")
def delete_recording(recording_id: str, svc: ServicesDep) -> dict[str, Any]:
    path = svc.recordings.find(recording_id)
    if path is None:
        raise HTTPException(404, f"no recording {recording_id!r}")
    path.unlink()
    return {"deleted": recording_id}
