"""SQLite storage of A/B votes (WAL, one transaction per vote; erasing a user's votes
overwrites them and truncates the WAL, as server/stores/calibration.py does)."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Protocol

from avatar_mapping.strategies import STRATEGIES


class VoteError(ValueError):
    pass


def parse_vote(body: Any) -> dict[str, Any]:
    """A validated vote: trial_id, strategy_a, strategy_b, chosen (A|B), rating (1-5)?, comment?, blind."""
    if not isinstance(body, dict):
        raise VoteError("a vote must be a JSON object")
    trial = body.get("trial_id")
    if not isinstance(trial, str) or not 0 < len(trial) <= 64:
        raise VoteError("trial_id must be a string of 1 to 64 characters")
    a, b = body.get("strategy_a"), body.get("strategy_b")
    if a not in STRATEGIES or b not in STRATEGIES:
        raise VoteError(f"strategy_a and strategy_b must be among {sorted(STRATEGIES)}")
    chosen = body.get("chosen")
    if chosen not in ("A", "B"):
        raise VoteError("chosen must be 'A' or 'B'")
    rating = body.get("rating")
    if rating is not None and (isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5):
        raise VoteError("rating must be an integer from 1 to 5")
    comment = body.get("comment")
    if comment is not None and (not isinstance(comment, str) or len(comment) > 1000):
        raise VoteError("comment must be text of at most 1000 characters")
    blind = body.get("blind", False)
    if not isinstance(blind, bool):
        raise VoteError("blind must be true or false")
    session = body.get("session_id")
    if session is not None and not isinstance(session, str):
        raise VoteError("session_id must be a string")
    user = body.get("user_id")
    if user is not None and (not isinstance(user, str) or not 0 < len(user) <= 128):
        raise VoteError("user_id must be a string of 1 to 128 characters")
    return {
        "trial_id": trial,
        "strategy_a": a,
        "strategy_b": b,
        "chosen": chosen,
        "rating": rating,
        "comment": comment,
        "blind": blind,
        "session_id": session,
        "user_id": user,
    }


class VoteStorage(Protocol):
    """Every A/B vote: this SQLite store (embedded), or a cluster's JetStream bucket
    (server/cluster/votes_kv.py), held to the same tests. Blocking."""

    def add(self, vote: dict[str, Any]) -> int: ...

    def all(self) -> list[dict[str, Any]]: ...

    def erase_user(self, user_id: str) -> int: ...

    def close(self) -> None: ...


class VoteStore:
    def __init__(self, path: Path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA secure_delete=ON")
        self._db.execute("""CREATE TABLE IF NOT EXISTS votes (
            id INTEGER PRIMARY KEY AUTOINCREMENT, trial_id TEXT NOT NULL UNIQUE, session_id TEXT,
            strategy_a TEXT NOT NULL, strategy_b TEXT NOT NULL, chosen TEXT NOT NULL CHECK (chosen IN ('A', 'B')),
            rating INTEGER, comment TEXT, blind INTEGER NOT NULL, created_ms INTEGER NOT NULL, user_id TEXT)""")
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(votes)")}
        if "user_id" not in columns:  # a database from before votes had owners
            self._db.execute("ALTER TABLE votes ADD COLUMN user_id TEXT")

    def add(self, vote: dict[str, Any]) -> int:
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                cur = self._db.execute(
                    "INSERT INTO votes (trial_id, session_id, strategy_a, strategy_b, chosen, rating, comment, blind,"
                    " created_ms, user_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        vote["trial_id"],
                        vote["session_id"],
                        vote["strategy_a"],
                        vote["strategy_b"],
                        vote["chosen"],
                        vote["rating"],
                        vote["comment"],
                        int(vote["blind"]),
                        int(time.time() * 1000),
                        vote.get("user_id"),
                    ),
                )
            except sqlite3.IntegrityError:
                raise VoteError(f"trial {vote['trial_id']!r} already has a vote") from None
            row_id = cur.lastrowid
            assert row_id is not None  # set by the INSERT above
            return int(row_id)

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT trial_id, strategy_a, strategy_b, chosen, rating, blind FROM votes"
            ).fetchall()
        return [
            {"trial_id": t, "strategy_a": a, "strategy_b": b, "chosen": c, "rating": r, "blind": bool(bl)}
            for t, a, b, c, r, bl in rows
        ]

    def erase_user(self, user_id: str) -> int:
        """Erase every vote a user cast; returns how many."""
        with self._lock:
            with self._db:
                self._db.execute("BEGIN IMMEDIATE")
                removed = self._db.execute("DELETE FROM votes WHERE user_id = ?", (user_id,)).rowcount
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return removed

    def close(self) -> None:
        with self._lock:
            self._db.close()
