"""One budget for the request bodies the server holds at once, all requests together.

A per-endpoint limit (an avatar file: 64 MiB) bounds one body, not many: 24 uploads at once
used to be read whole before anything checked whether the server could take them (2.4 GB).
Each HTTP request gets a `BodyLease` on the app's `BodyBudget` (`BodyBudgetMiddleware`);
`read_body` (deps.py) takes its declared length from it before reading a byte (or each chunk
as it arrives, for a body without a length) and the request is refused with 503 and
Retry-After when the budget is spent. Everything a request took is given back when the app
has answered it, so whatever its handler built from the body is already freed.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

SCOPE_KEY = "avatar_driver.body_lease"


class BodyBudget:
    """Bytes of request bodies held now (``held``), at most ``limit``."""

    def __init__(self, limit: int):
        self.limit = limit
        self.held = 0

    def take(self, n: int) -> bool:
        """Takes ``n`` bytes of the budget; False (nothing taken) when they do not fit."""
        if n < 0 or self.held + n > self.limit:
            return False
        self.held += n
        return True

    def give_back(self, n: int) -> None:
        self.held = max(0, self.held - n)


class BodyLease:
    """What one request holds of the budget; `release` gives all of it back."""

    def __init__(self, budget: BodyBudget):
        self.budget = budget
        self.held = 0

    def take(self, n: int) -> bool:
        if not self.budget.take(n):
            return False
        self.held += n
        return True

    def give_back(self, n: int) -> None:
        n = min(n, self.held)
        self.held -= n
        self.budget.give_back(n)

    def release(self) -> None:
        self.give_back(self.held)


class BodyBudgetMiddleware:
    """Gives every HTTP request a lease (in its scope) and releases it once the app answered."""

    def __init__(self, app: ASGIApp, budget: BodyBudget):
        self.app = app
        self.budget = budget

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        lease = scope[SCOPE_KEY] = BodyLease(self.budget)
        try:
            await self.app(scope, receive, send)
        finally:
            lease.release()
