"""`/v1/calibration/…` while the store cannot be reached (a cluster's NATS down or restarting):
every call answers 503 with Retry-After, never a 500 or a false 404 (routers/unavailable.py)."""

from __future__ import annotations

from typing import NoReturn

from fastapi.testclient import TestClient

from server.app import create_app
from server.settings import Settings
from server.stores.unavailable import StoreUnavailable
from tests.support.samples import example_table


class UnreachableStore:
    """A calibration store whose service is down: every call says so, as the JetStream one does."""

    def __getattr__(self, name: str) -> object:
        if name == "close":
            return lambda: None

        def unreachable(*args: object) -> NoReturn:
            raise StoreUnavailable("NATS is not connected")

        return unreachable


def test_every_calibration_call_is_503_with_retry_after_while_the_store_is_unreachable(settings: Settings) -> None:
    with TestClient(create_app(settings)) as c:
        c.app.state.services.calibration = UnreachableStore()  # type: ignore[attr-defined]
        answers = [
            c.put("/v1/calibration/ana", json=example_table().to_dict()),
            c.get("/v1/calibration/ana"),
            c.get("/v1/calibration/ana/history"),
            c.post("/v1/calibration/ana/revert?version=1"),
            c.delete("/v1/calibration/ana"),
            c.delete("/v1/users/ana"),
        ]
        assert [(r.status_code, r.headers.get("retry-after")) for r in answers] == [(503, "2")] * len(answers)
