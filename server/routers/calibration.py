"""Calibration tables: `GET/PUT/DELETE /v1/calibration/{user_id}`, `GET …/history`,
`POST …/revert` (undo). A change applies at once to the user's live sessions.

A cluster's store that cannot be reached now (NATS down or restarting) answers 503 with
Retry-After, never 500 or a false 404 (routers/unavailable.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request

from calibration.table import CalibrationError, CalibrationTable

from .deps import ServicesDep, read_json
from .unavailable import unavailable_is_503

router = APIRouter()


@router.get("/v1/calibration/{user_id}")
def get_calibration(
    user_id: str, svc: ServicesDep, version: int | None = Query(None, ge=1, le=2**62)
) -> dict[str, Any]:
    """The user's newest table (or one version): also the export format."""
    with unavailable_is_503():
        table = svc.calibration.get(user_id, version)
    if table is None:
        raise HTTPException(404, f"no calibration for user {user_id!r}")
    return table.to_dict()


@router.get("/v1/calibration/{user_id}/history")
def calibration_history(user_id: str, svc: ServicesDep) -> list[dict[str, int]]:
    with unavailable_is_503():
        return svc.calibration.history(user_id)


@router.put("/v1/calibration/{user_id}")
async def put_calibration(user_id: str, request: Request, svc: ServicesDep) -> dict[str, Any]:
    """Import a table (the JSON of GET); it applies to the user's live sessions at once."""
    body = await read_json(request, svc.settings.max_json_bytes)
    try:
        table = CalibrationTable.from_dict(body, user_id)
    except CalibrationError as e:
        raise HTTPException(422, str(e)) from None
    with unavailable_is_503():
        version = await svc.publish_calibration(table)
    return {"user_id": user_id, "version": version}


@router.post("/v1/calibration/{user_id}/revert")
async def revert_calibration(
    user_id: str, svc: ServicesDep, version: int = Query(..., ge=1, le=2**62)
) -> dict[str, Any]:
    """Undo: version ``version`` becomes the newest again (stored as a new version, so the
    history keeps what was undone)."""
    with unavailable_is_503():
        new_version = await svc.revert_calibration(user_id, version)
    if new_version is None:
        raise HTTPException(404, f"no version {version} of user {user_id!r}'s calibration")
    return {"user_id": user_id, "version": new_version, "reverted_to": version}


@router.delete("/v1/calibration/{user_id}")
async def delete_calibration(user_id: str, svc: ServicesDep) -> dict[str, Any]:
    with unavailable_is_503():
        removed = await svc.delete_calibration(user_id)
    if not removed:
        raise HTTPException(404, f"no calibration for user {user_id!r}")
    return {"user_id": user_id, "removed_versions": removed}
