"""Loads rig definitions from the rigs/ folder (the only place rigs touch the disk)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from avatar_mapping.rig import RigDefinition, RigError

log = logging.getLogger(__name__)


class RigStore:
    def __init__(self, rigs: dict[str, RigDefinition]):
        self._rigs = dict(rigs)

    @classmethod
    def from_dir(cls, folder: Path) -> "RigStore":
        rigs: dict[str, RigDefinition] = {}
        for path in sorted(Path(folder).glob("*.json")):
            try:
                rig = RigDefinition.from_dict(json.loads(path.read_text()))
            except (ValueError, RigError) as e:  # json.JSONDecodeError is a ValueError
                raise RigError(f"{path}: {e}") from None
            rigs[rig.id] = rig
        if not rigs:
            raise RigError(f"no rig definitions found in {folder}")
        return cls(rigs)

    def get(self, rig_id: str) -> RigDefinition | None:
        return self._rigs.get(rig_id)

    def ids(self) -> list[str]:
        return sorted(self._rigs)

    def all(self) -> list[RigDefinition]:
        return [self._rigs[i] for i in self.ids()]
