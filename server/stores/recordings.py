"""Where sessions' feature recordings live (data_dir/recordings), listed and served by REST."""

from __future__ import annotations

import re
from pathlib import Path

SUFFIX = ".cborseq"
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class RecordingStore:
    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def path_for(self, recording_id: str) -> Path:
        if not _ID.match(recording_id):
            raise ValueError(f"bad recording id {recording_id!r}")
        return self.folder / (recording_id + SUFFIX)

    def list(self) -> list[dict]:
        if not self.folder.is_dir():
            return []
        return [{"id": p.stem, "bytes": p.stat().st_size, "modified_ms": int(p.stat().st_mtime * 1000)}
                for p in sorted(self.folder.glob("*" + SUFFIX))]

    def find(self, recording_id: str) -> Path | None:
        try:
            p = self.path_for(recording_id)
        except ValueError:
            return None
        return p if p.is_file() else None
