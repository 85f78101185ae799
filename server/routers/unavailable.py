"""A store that cannot be reached now (`StoreUnavailable`: a cluster's NATS down or restarting)
answers 503 with Retry-After, never 500: every router that needs such a store, through the
app's exception handler (`store_unavailable`), or a router's own `unavailable_is_503`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse

from ..stores.unavailable import StoreUnavailable


def _detail(error: StoreUnavailable) -> str:
    return f"the shared store cannot be reached now; retry: {error}"


@contextmanager
def unavailable_is_503() -> Iterator[None]:
    try:
        yield
    except StoreUnavailable as e:
        raise HTTPException(503, _detail(e), headers={"Retry-After": str(e.retry_after_s)}) from None


async def store_unavailable(request: Request, error: Exception) -> JSONResponse:
    """The app's handler of `StoreUnavailable` (`app.add_exception_handler`)."""
    assert isinstance(error, StoreUnavailable)
    return JSONResponse({"detail": _detail(error)}, status_code=503, headers={"Retry-After": str(error.retry_after_s)})
