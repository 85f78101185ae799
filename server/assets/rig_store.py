"""Loads rig definitions from the rigs/ folder (the only place rigs touch the disk)."""

from __future__ import annotations

import json
from pathlib import Path

from avatar_mapping.rig import RigDefinition, RigError



class RigStore:
    """Built-in rigs (read-only) plus uploaded ones, saved as JSON in `upload_dir`."""

    def __init__(self, rigs: dict[str, RigDefinition], upload_dir: Path | None = None,
                 uploaded: dict[str, RigDefinition] | None = None):
        self._builtin = dict(rigs)
        self._uploaded = dict(uploaded or {})
        self._rigs = {**self._uploaded, **self._builtin}
        self.upload_dir = upload_dir

    @classmethod
    def from_dir(cls, folder: Path, upload_dir: Path | None = None) -> "RigStore":
        rigs = _load(folder)
        if not rigs:
            raise RigError(f"no rig definitions found in {folder}")
        uploaded = _load(upload_dir) if upload_dir is not None and upload_dir.is_dir() else {}
        return cls(rigs, upload_dir, uploaded)

    def add(self, rig: RigDefinition, replace: bool = False) -> None:
        """Save an uploaded rig; built-in rigs cannot be replaced."""
        if rig.id in self._builtin:
            raise FileExistsError(f"rig {rig.id!r} is built in; choose another id")
        if rig.id in self._uploaded and not replace:
            raise FileExistsError(f"rig {rig.id!r} exists; pass replace=true to overwrite it")
        if self.upload_dir is None:
            raise RuntimeError("this server has no folder for uploaded rigs")
        self.upload_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.upload_dir / f".{rig.id}.json.tmp"
        tmp.write_text(json.dumps(rig.to_dict(), indent=1))
        tmp.replace(self.upload_dir / f"{rig.id}.json")  # atomic
        self._uploaded[rig.id] = rig
        self._rigs[rig.id] = rig

    def get(self, rig_id: str) -> RigDefinition | None:
        return self._rigs.get(rig_id)

    def ids(self) -> list[str]:
        return sorted(self._rigs)

    def all(self) -> list[RigDefinition]:
        return [self._rigs[i] for i in self.ids()]


def _load(folder: Path) -> dict[str, RigDefinition]:
    rigs: dict[str, RigDefinition] = {}
    for path in sorted(Path(folder).glob("*.json")):
        try:
            rig = RigDefinition.from_dict(json.loads(path.read_text()))
        except (ValueError, RigError) as e:  # json.JSONDecodeError is a ValueError
            raise RigError(f"{path}: {e}") from None
        rigs[rig.id] = rig
    return rigs
