"""What every endpoint needs: the server's Services (opened in the app's lifespan) and bodies
read within their limits: their own, and the budget of all bodies held at once (body_budget.py)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from starlette.requests import HTTPConnection

from ..pools.tool_pool import PoolBusy, PoolFailed
from ..services import Services
from .body_budget import SCOPE_KEY, BodyLease

# What a request refused for the body budget is told to wait before trying again.
BODY_RETRY_AFTER_S = 2


def services_of(connection: HTTPConnection) -> Services:
    services: Services = connection.app.state.services  # set in the app's lifespan
    return services


def services(request: Request) -> Services:
    return services_of(request)


# An endpoint's parameter ``svc: ServicesDep`` is the server's Services.
ServicesDep = Annotated[Services, Depends(services)]


async def read_body(request: Request, limit: int, what: str = "the body") -> bytes:
    """The request body, refused (413) as soon as it is over ``limit`` bytes, and (503 with
    Retry-After) when it does not fit the budget of bodies in flight: a declared length is
    checked and taken from the budget before reading, a chunked body while it streams, so
    nothing over either is ever held in memory. The budget is given back when the request ends."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise HTTPException(413, f"{what} is over the limit of {limit} bytes")
    reserved = int(declared) if declared is not None else 0
    take_body_budget(request, reserved, what)
    data = bytearray()
    async for chunk in request.stream():
        if len(data) + len(chunk) > limit:
            raise HTTPException(413, f"{what} is over the limit of {limit} bytes")
        if len(data) + len(chunk) > reserved:
            take_body_budget(request, len(data) + len(chunk) - reserved, what)
            reserved = len(data) + len(chunk)
        data += chunk
    return bytes(data)


def take_body_budget(request: Request, n: int, what: str = "the body") -> None:
    """Takes ``n`` bytes of the budget of request bodies in flight for this request, until it
    ends; 503 with Retry-After (counted) when they do not fit."""
    lease: BodyLease | None = request.scope.get(SCOPE_KEY)
    if lease is None or n == 0 or lease.take(n):
        return
    services_of(request).metrics.bodies_refused.inc()
    raise HTTPException(
        503,
        f"the server holds {lease.budget.held} bytes of request bodies (at most {lease.budget.limit}); "
        f"{what} ({n} more bytes) must wait; try again shortly",
        headers={"Retry-After": str(BODY_RETRY_AFTER_S)},
    )


@asynccontextmanager
async def body_budget_held(request: Request, n: int, what: str = "the body") -> AsyncIterator[None]:
    """``n`` bytes of the budget for the block, given back at its end (503 as `take_body_budget`):
    for a route that streams its body and holds a bounded part of it at a time."""
    take_body_budget(request, n, what)
    try:
        yield
    finally:
        lease: BodyLease | None = request.scope.get(SCOPE_KEY)
        if lease is not None:
            lease.give_back(n)


async def read_json(request: Request, limit: int) -> Any:
    """A JSON body of at most ``limit`` bytes; 422 with the reason when it is not JSON."""
    data = await read_body(request, limit, "the JSON body")
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise HTTPException(422, f"the body is not JSON: {type(e).__name__}: {e}") from None


async def run_tool(svc: Services, fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` in the tool pool: 503 with Retry-After when it is full, 503 when the job
    did not finish; the tool's own errors pass through."""
    try:
        return await svc.tools.run(fn, *args)
    except PoolBusy as e:
        raise HTTPException(503, str(e), headers={"Retry-After": "2"}) from None
    except PoolFailed as e:
        raise HTTPException(503, f"the job did not finish: {e}") from None
