"""Where the tests find the repository's files and the shared third-party avatars."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "golden"
# Real third-party avatars (non-commercial licences): read from ../shared, never copied.
AVATARS = REPO.parent / "shared" / "avatars"
