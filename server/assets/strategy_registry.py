"""Builds strategies by name with their data files (the only place strategy tables are read)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from avatar_mapping.mapper import rig_context
from avatar_mapping.rig import RigDefinition
from avatar_mapping.strategies import STRATEGIES, Strategy, make_strategy


class StrategyRegistry:
    def __init__(self, rigs_dir: Path):
        path = Path(rigs_dir) / "strategies" / "au_linear.json"
        self.defaults: dict[str, dict[str, Any]] = {"au_linear": json.loads(path.read_text())}

    def make(self, name: str, rig: RigDefinition, params: dict[str, Any] | None = None) -> Strategy:
        """A strategy for this rig; raises ValueError with the reason for bad names or params."""
        if name not in STRATEGIES:
            raise ValueError(f"unknown strategy {name!r}; available: {sorted(STRATEGIES)}")
        merged = {**self.defaults.get(name, {}), **(params or {})}
        try:
            return make_strategy(name, rig_context(rig), merged)
        except ValueError as e:
            raise ValueError(f"bad parameters for strategy {name!r}: {e}") from None

    def describe(self) -> list[dict[str, Any]]:
        """Each strategy with its parameters: what they do, their default and range."""

        def numbers(cls: type[Strategy]) -> dict[str, str]:
            return {k: f"{p.doc} (default {p.default:g}, {p.lo:g} to {p.hi:g})" for k, p in cls.numbers.items()}

        return [
            {"name": n, "description": cls.description, "params": {**numbers(cls), **cls.tables}}
            for n, cls in sorted(STRATEGIES.items())
        ]
