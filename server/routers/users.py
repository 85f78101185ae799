"""`DELETE /v1/users/{user_id}`: erase everything the server keeps about a user."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from ..stores.users import erase_user
from .deps import ServicesDep

router = APIRouter()


@router.delete("/v1/users/{user_id}")
async def erase(user_id: str, svc: ServicesDep) -> dict[str, Any]:
    """Calibration history, recordings, votes and uploaded rigs of the user; their live sessions
    lose their calibration at once. Counts what was erased (zeros for an unknown user)."""
    erased = await run_in_threadpool(erase_user, user_id, svc.calibration, svc.recordings, svc.votes, svc.rigs)
    svc.registry.apply_calibration(user_id, None)
    return erased.as_dict()
