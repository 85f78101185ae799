"""The repository's rig definitions, read as the server reads them."""

from __future__ import annotations

import json

from avatar_mapping.rig import RigDefinition

from .paths import REPO


def load_rig(rig_id: str) -> RigDefinition:
    return RigDefinition.from_dict(json.loads((REPO / "rigs" / f"{rig_id}.json").read_text()))
