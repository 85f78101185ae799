from typing import Any

import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from server.settings import Settings
from server.stores.votes import VoteError, parse_vote

VOTE = {
    "trial_id": "t1",
    "strategy_a": "direct",
    "strategy_b": "hybrid",
    "chosen": "A",
    "rating": 5,
    "comment": "more alive",
    "blind": True,
}


@pytest.mark.parametrize(
    "change, message",
    [
        ({"trial_id": ""}, "trial_id"),
        ({"strategy_a": "magic"}, "strategy_a"),
        ({"chosen": "left"}, "chosen"),
        ({"rating": 6}, "rating"),
        ({"rating": True}, "rating"),
        ({"comment": "x" * 1001}, "comment"),
        ({"blind": "yes"}, "blind"),
    ],
)
def test_bad_votes_are_refused(change: dict[str, Any], message: str) -> None:
    with pytest.raises(VoteError, match=message):
        parse_vote({**VOTE, **change})


def test_votes_are_stored_counted_and_survive_a_restart(settings: Settings) -> None:
    with TestClient(create_app(settings)) as c:
        assert c.post("/v1/ab/votes", json=VOTE).status_code == 201
        assert c.post("/v1/ab/votes", json=VOTE).status_code == 422  # one vote per trial
        for i in range(5):
            c.post("/v1/ab/votes", json={**VOTE, "trial_id": f"t{i + 2}", "chosen": "B"})
        assert c.post("/v1/ab/votes", json={"chosen": "A"}).status_code == 422
    with TestClient(create_app(settings)) as c:
        r = c.get("/v1/ab/results").json()
        assert r["votes"] == 6
        (pair,) = r["pairs"]
        assert pair["wins"] == {"direct": 1, "hybrid": 5} and 0 < pair["p_value"] < 1
