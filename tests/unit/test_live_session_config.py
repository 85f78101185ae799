"""A session's configuration: its wire form both ways (welcome, configured, a cluster's
directory record) and what a configure changes."""

from __future__ import annotations

from typing import Any

import pytest

from server.live.session_config import SessionConfig, StrategyChoice, strategy_after
from server.protocol.messages import Configure

CONFIG = SessionConfig(StrategyChoice("hybrid", {"accent": 0.5}), StrategyChoice("emotion_preset"), True, True, "ana")


def test_the_wire_form_reads_back_as_it_was_written() -> None:
    wire = CONFIG.to_wire()
    assert wire == {
        "strategy": "hybrid",
        "strategy_params": {"accent": 0.5},
        "adaptive": True,
        "adaptive_frozen": True,
        "calibration_user_id": "ana",
        "compare": {"strategy": "emotion_preset", "strategy_params": {}},
    }
    assert list(wire) == [
        "strategy",
        "strategy_params",
        "adaptive",
        "adaptive_frozen",
        "calibration_user_id",
        "compare",
    ]
    assert SessionConfig.from_wire(wire) == CONFIG
    assert SessionConfig.from_wire(SessionConfig(StrategyChoice("direct")).to_wire()).compare is None


def test_a_choice_keeps_its_own_copy_of_the_parameters() -> None:
    params = {"accent": 0.5}
    choice = StrategyChoice("hybrid", params)
    params["accent"] = 1.0
    assert choice.params == {"accent": 0.5}


@pytest.mark.parametrize(
    "record, expected",
    [
        ({"strategy": "direct", "adaptive": "yes", "compare": "hybrid"}, SessionConfig(StrategyChoice("direct"))),
        (
            {"strategy": "au_linear", "strategy_params": [1], "calibration_user_id": 7},
            SessionConfig(StrategyChoice("au_linear")),
        ),
    ],
)
def test_a_record_with_odd_fields_falls_back_to_their_defaults(record: dict[str, Any], expected: SessionConfig) -> None:
    assert SessionConfig.from_wire(record) == expected


@pytest.mark.parametrize("record", [{}, {"strategy": ""}, {"strategy": 3}])
def test_a_record_without_a_strategy_is_no_configuration(record: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="names its strategy"):
        SessionConfig.from_wire(record)


@pytest.mark.parametrize(
    "payload, expected",
    [
        ({"adaptive": True}, None),  # the strategy stays
        ({"strategy": "au_linear"}, StrategyChoice("au_linear")),  # a new one starts from its defaults
        ({"strategy_params": {"accent": 0.9}}, StrategyChoice("hybrid", {"accent": 0.9})),  # the current one
        ({"strategy": "direct", "strategy_params": {}}, StrategyChoice("direct")),
    ],
)
def test_what_a_configure_makes_of_the_strategy(payload: dict[str, Any], expected: StrategyChoice | None) -> None:
    assert strategy_after(StrategyChoice("hybrid", {"accent": 0.5}), Configure.parse(payload)) == expected
