"""A/B votes: `POST /v1/ab/votes`, `GET /v1/ab/results`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from ..stores.votes import VoteError, parse_vote
from ..tools.ab_stats import results
from .deps import ServicesDep, read_json

router = APIRouter()


@router.post("/v1/ab/votes", status_code=201)
async def post_vote(request: Request, svc: ServicesDep) -> dict[str, Any]:
    """One vote of an A/B trial: {trial_id, strategy_a, strategy_b, chosen: A|B, rating?, comment?, blind}."""
    body = await read_json(request, svc.settings.max_json_bytes)
    try:
        return {"id": await run_in_threadpool(svc.votes.add, parse_vote(body))}
    except VoteError as e:
        raise HTTPException(422, str(e)) from None


@router.get("/v1/ab/results")
def get_results(svc: ServicesDep) -> dict[str, Any]:
    return results(svc.votes.all())
