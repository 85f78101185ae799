"""A session's configuration beyond its hello: the mapping strategy, the A/B comparison and
the calibration mode. Typed here, plain data on the wire (welcome, configured) and in a
cluster's directory record, from which a session reclaimed by another worker is restored."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..protocol.messages import Configure


@dataclass(frozen=True)
class StrategyChoice:
    """A mapping strategy by name, with its parameters."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", dict(self.params))  # a copy: the caller's map may change


@dataclass(frozen=True)
class SessionConfig:
    strategy: StrategyChoice
    compare: StrategyChoice | None = None
    adaptive: bool = False
    adaptive_frozen: bool = False
    calibration_user_id: str | None = None  # whose stored table applies (None: no table)

    def to_wire(self) -> dict[str, Any]:
        """As welcome and configured report it (docs/protocol.md)."""
        compare = self.compare
        return {
            "strategy": self.strategy.name,
            "strategy_params": dict(self.strategy.params),
            "adaptive": self.adaptive,
            "adaptive_frozen": self.adaptive_frozen,
            "calibration_user_id": self.calibration_user_id,
            "compare": {"strategy": compare.name, "strategy_params": dict(compare.params)} if compare else None,
        }

    @classmethod
    def from_wire(cls, record: Mapping[str, Any]) -> SessionConfig:
        """The configuration `to_wire` wrote (a cluster's directory record): ValueError without
        a strategy; another field that is missing or of another type takes its default."""
        strategy = _choice(record.get("strategy"), record.get("strategy_params"))
        if strategy is None:
            raise ValueError("a session's configuration names its strategy")
        compare = record.get("compare")
        return cls(
            strategy,
            _choice(compare.get("strategy"), compare.get("strategy_params")) if isinstance(compare, Mapping) else None,
            record.get("adaptive") is True,
            record.get("adaptive_frozen") is True,
            _text(record.get("calibration_user_id")),
        )


def strategy_after(current: StrategyChoice, request: Configure) -> StrategyChoice | None:
    """The strategy a configure asks for (None: it keeps the current one). A new strategy
    without parameters starts from its defaults; new parameters alone apply to the current one."""
    if request.strategy is None and request.strategy_params is None:
        return None
    if request.strategy is None:
        return StrategyChoice(current.name, request.strategy_params or {})
    return StrategyChoice(request.strategy, request.strategy_params or {})


def _choice(name: object, params: object) -> StrategyChoice | None:
    if not isinstance(name, str) or not name:
        return None
    return StrategyChoice(name, params if isinstance(params, Mapping) else {})


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
