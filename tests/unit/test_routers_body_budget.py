"""The budget of request bodies in flight: what a request takes it gives back when it ends,
whatever its handler did (the endpoints: tests/integration/test_routers_rigs.py)."""

from __future__ import annotations

import asyncio

import pytest
from starlette.types import Receive, Scope, Send

from server.routers.body_budget import SCOPE_KEY, BodyBudget, BodyBudgetMiddleware, BodyLease


def test_a_lease_takes_what_fits_and_gives_back_only_what_it_took() -> None:
    budget = BodyBudget(100)
    a, b = BodyLease(budget), BodyLease(budget)
    assert a.take(60) and not b.take(41) and b.take(40) and budget.held == 100
    assert not a.take(1) and not a.take(-5)  # nothing taken by a refusal
    b.give_back(1000)  # more than it holds: only its 40
    assert budget.held == 60 and b.held == 0
    a.release()
    a.release()
    assert budget.held == 0


def test_the_middleware_gives_back_a_requests_bodies_even_when_its_handler_fails() -> None:
    budget = BodyBudget(10)
    seen: list[int] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        lease: BodyLease = scope[SCOPE_KEY]
        assert lease.take(8)
        seen.append(budget.held)
        if scope["path"] == "/fails":
            raise RuntimeError("the handler failed")

    async def receive() -> dict[str, object]:
        return {"type": "http.disconnect"}

    async def send(message: object) -> None:
        pass

    async def scenario() -> None:
        middleware = BodyBudgetMiddleware(app, budget)
        await middleware({"type": "http", "path": "/ok"}, receive, send)
        with pytest.raises(RuntimeError):
            await middleware({"type": "http", "path": "/fails"}, receive, send)

    asyncio.run(scenario())
    assert seen == [8, 8] and budget.held == 0
