"""What every endpoint needs: the server's Services (opened in the app's lifespan) and bodies
read within their limits."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from starlette.requests import HTTPConnection

from ..pools.tool_pool import PoolBusy, PoolFailed
from ..services import Services


def services_of(connection: HTTPConnection) -> Services:
    services: Services = connection.app.state.services  # set in the app's lifespan
    return services


def services(request: Request) -> Services:
    return services_of(request)


# An endpoint's parameter ``svc: ServicesDep`` is the server's Services.
ServicesDep = Annotated[Services, Depends(services)]


async def read_body(request: Request, limit: int, what: str = "the body") -> bytes:
    """The request body, refused (413) as soon as it is over ``limit`` bytes: a declared
    length is checked before reading, a chunked body while it streams, so nothing over the
    limit is ever held in memory."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise HTTPException(413, f"{what} is over the limit of {limit} bytes")
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            raise HTTPException(413, f"{what} is over the limit of {limit} bytes")
    return bytes(data)


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
