"""Builds strategies by name with their data files (the only place strategy tables are read)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from avatar_mapping.mapper import rig_context
from avatar_mapping.rig import RigDefinition
from avatar_mapping.strategies import STRATEGIES, Strategy, make_strategy

PARAMS_DOC: dict[str, dict[str, str]] = {
    "direct": {},
    "au_linear": {"rows": "the AU -> blendshape table (default: rigs/strategies/au_linear.json)",
                  "passthrough": "ARKit channels copied per eye (blinks, gaze)"},
    "emotion_preset": {"intensity": "scale of presets and posture (default 1.0)"},
    "hybrid": {"accent": "emotion accent on top of the face (default 0.3)",
               "speaking_threshold": "speaking probability above which visemes take the mouth (default 0.7)",
               "speaking_ramp": "width of the hand-over ramp (default 0.15)"},
}


class StrategyRegistry:
    def __init__(self, rigs_dir: Path):
        path = Path(rigs_dir) / "strategies" / "au_linear.json"
        self.defaults: dict[str, dict[str, Any]] = {"au_linear": json.loads(path.read_text())}

    def make(self, name: str, rig: RigDefinition, params: dict[str, Any] | None = None) -> Strategy:
        """A strategy for this rig; raises ValueError with the reason for bad names or params."""
        merged = {**self.defaults.get(name, {}), **(params or {})}
        try:
            return make_strategy(name, rig_context(rig), merged)
        except (KeyError, TypeError, IndexError) as e:
            raise ValueError(f"bad parameters for strategy {name!r}: {e}") from None

    def describe(self) -> list[dict[str, Any]]:
        return [{"name": n, "description": cls.description, "params": PARAMS_DOC.get(n, {})}
                for n, cls in sorted(STRATEGIES.items())]
