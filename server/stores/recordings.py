"""Where sessions' feature recordings live (data_dir/recordings), listed and served by REST,
erased per user and after their retention time."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from ..protocol.recording import read_header

SUFFIX = ".cborseq"
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class RecordingStore:
    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def path_for(self, recording_id: str) -> Path:
        if not _ID.match(recording_id):
            raise ValueError(f"bad recording id {recording_id!r}")
        return self.folder / (recording_id + SUFFIX)

    def files(self) -> list[Path]:
        return sorted(self.folder.glob("*" + SUFFIX)) if self.folder.is_dir() else []

    def list(self) -> list[dict[str, Any]]:
        out = []
        for p in self.files():
            header = read_header(p) or {}
            out.append(
                {
                    "id": p.stem,
                    "bytes": p.stat().st_size,
                    "modified_ms": int(p.stat().st_mtime * 1000),
                    "user_id": header.get("user_id"),
                }
            )
        return out

    def erase_user(self, user_id: str) -> int:
        """Deletes every recording of the user's sessions; returns how many."""
        gone = 0
        for p in self.files():
            if (read_header(p) or {}).get("user_id") == user_id:
                p.unlink(missing_ok=True)
                gone += 1
        return gone

    def expire(self, max_age_s: float, now_s: float | None = None) -> int:
        """Deletes recordings last written more than ``max_age_s`` ago; returns how many."""
        now_s = time.time() if now_s is None else now_s
        gone = 0
        for p in self.files():
            if now_s - p.stat().st_mtime > max_age_s:
                p.unlink(missing_ok=True)
                gone += 1
        return gone

    def find(self, recording_id: str) -> Path | None:
        try:
            p = self.path_for(recording_id)
        except ValueError:
            return None
        return p if p.is_file() else None
