"""`DELETE /v1/users/{user_id}`: erase everything the server keeps about a user."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from starlette.concurrency import run_in_threadpool

from ..stores.users import erase_user
from .deps import ServicesDep
from .unavailable import unavailable_is_503

router = APIRouter()


@router.delete("/v1/users/{user_id}")
async def erase(user_id: str, svc: ServicesDep) -> dict[str, Any]:
    """Calibration history, recordings, votes and uploaded rigs of the user; their live sessions
    lose their calibration at once. Counts what was erased (zeros for an unknown user).

    On a cluster's edge the shared stores are erased here and every live worker erases its own
    recordings (cluster/erasure.py); a live worker that did not answer makes this a 503 with
    what was erased so far — erasing again finishes the job."""
    with unavailable_is_503():
        erased = await run_in_threadpool(erase_user, user_id, svc.calibration, svc.recordings, svc.votes, svc.rigs)
    svc.registry.apply_calibration(user_id, None)
    svc.announce_calibration(user_id)  # a cluster's workers drop the table from their sessions too
    if svc.erase_on_workers is not None:
        workers = await svc.erase_on_workers(user_id)
        erased = erased.with_workers(workers)
        if workers.unanswered:
            svc.metrics.erasures.labels("incomplete").inc()
            detail = {"erased": erased.as_dict(), "unanswered_workers": list(workers.unanswered)}
            raise HTTPException(503, detail, headers={"Retry-After": "2"})
    svc.metrics.erasures.labels("complete").inc()
    return erased.as_dict()
