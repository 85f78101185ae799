"""CalibrationTable: the stored form, its JSON round trip and validation."""

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from calibration.table import CalibrationError, CalibrationTable
from tests.support.samples import example_table


def test_fields_are_keyword_only_and_the_identity_is_recognised() -> None:
    with pytest.raises(TypeError):
        CalibrationTable("u")  # type: ignore[call-arg, arg-type]  # positional on purpose: fields are keyword-only
    assert CalibrationTable.identity("u").is_identity and not example_table().is_identity


def test_json_round_trip() -> None:
    t = example_table()
    back = CalibrationTable.from_dict(t.to_dict())
    assert np.array_equal(back.channels.neutral, t.channels.neutral) and back.blink_closed == t.blink_closed
    assert back.gaze_range_deg == t.gaze_range_deg and back.user_id == "u"
    assert back.emotion_baseline == pytest.approx(t.emotion_baseline)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.update(schema_version=99), "schema_version"),
        (lambda d: d["channels"]["jawOpen"].update(neutral=float("nan")), "finite"),
        (lambda d: d["channels"]["jawOpen"].update(range=0.1, neutral=0.5), "above neutral"),
        (lambda d: d["channels"]["jawOpen"].update(neutral=1.5), "outside"),
        (lambda d: d["channels"].update(notAChannel={}), "unknown channels"),
        (lambda d: d["channels"]["jawOpen"].update(curve="cubic"), "curve"),
        (lambda d: d["blink"]["left"].update(open=0.9), "closed"),
        (lambda d: d.update(user_id=""), "user_id"),
        (lambda d: d.update(channels=[1, 2]), "channels"),
        (lambda d: d.update(steps=["neutral"] * 100_000), "at most 32"),
        (lambda d: d.update(steps=["neutral", "neutral"]), "each step once"),
        (lambda d: d.update(steps=["x" * 33]), "list of step names"),
        (lambda d: d["channels"]["jawOpen"].update(gain=10**400), "outside"),
        (lambda d: d.update(created_ms=-(10**400)), "outside"),
    ],
)
def test_bad_tables_are_rejected(mutate: Callable[[dict[str, Any]], object], message: str) -> None:
    d = example_table().to_dict()
    mutate(d)
    with pytest.raises(CalibrationError, match=message):
        CalibrationTable.from_dict(d)
