"""SQLite storage of calibration tables: every version kept, the newest one applies.

Versions are numbered per user (1, 2, 3 … for each user), so a user's history reads the
same whoever else calibrates on the server; reverting stores an older version again as
the newest, so history only grows (until the user's data is deleted).

WAL journal (readers never block the writer), one transaction per write (a table is
stored whole or not at all), and a schema version checked at open. Deleting is erasing:
`secure_delete` overwrites the freed pages, and the WAL (which still holds the old pages)
is checkpointed into the database and truncated, so no copy of a deleted table stays in
either file.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Protocol

from calibration.table import CalibrationTable

DB_SCHEMA_VERSION = 2  # 2: per-user version numbers (1 had one global sequence)
_CREATE = """CREATE TABLE {exists}calibration (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    saved_ms INTEGER NOT NULL,
    data TEXT NOT NULL,
    UNIQUE (user_id, version))"""


class CalibrationStorage(Protocol):
    """Every version of every user's table: this SQLite store (embedded), or a cluster's
    JetStream bucket (server/cluster/calibration_kv.py), held to the same tests. Blocking."""

    def put(self, table: CalibrationTable) -> int: ...

    def revert(self, user_id: str, version: int) -> int | None: ...

    def get(self, user_id: str, version: int | None = None) -> CalibrationTable | None: ...

    def history(self, user_id: str) -> list[dict[str, int]]: ...

    def delete(self, user_id: str) -> int: ...

    def close(self) -> None: ...


class CalibrationStore:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA secure_delete=ON")
        with self._lock, self._db:
            self._db.execute("BEGIN")
            self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            self._db.execute(_CREATE.format(exists="IF NOT EXISTS "))
            row = self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is not None and int(row[0]) == 1:
                self._migrate_from_1()
            elif row is not None and int(row[0]) != DB_SCHEMA_VERSION:
                raise RuntimeError(
                    f"{self.path}: calibration database schema {row[0]}, this server reads {DB_SCHEMA_VERSION}"
                )
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(DB_SCHEMA_VERSION),))

    def _migrate_from_1(self) -> None:
        """Schema 1 numbered versions globally (its `version` was the row id): number each
        user's versions 1, 2, 3 … in the order they were saved."""
        self._db.execute("ALTER TABLE calibration RENAME TO calibration_v1")
        self._db.execute("DROP INDEX IF EXISTS calibration_user")
        self._db.execute(_CREATE.format(exists=""))
        self._db.execute("""INSERT INTO calibration (user_id, version, saved_ms, data)
            SELECT user_id, ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY version), saved_ms, data
            FROM calibration_v1 ORDER BY version""")
        self._db.execute("DROP TABLE calibration_v1")

    def put(self, table: CalibrationTable) -> int:
        """Store a new version; returns its version number (the user's own sequence)."""
        return self._insert(table.user_id, json.dumps(table.to_dict(), allow_nan=False))

    def revert(self, user_id: str, version: int) -> int | None:
        """Store version ``version`` of the user's table again, as the newest (undo);
        returns the new version number, or None when there is no such version."""
        with self._lock:
            row = self._db.execute(
                "SELECT data FROM calibration WHERE user_id = ? AND version = ?", (user_id, version)
            ).fetchone()
        return self._insert(user_id, row[0]) if row else None

    def _insert(self, user_id: str, data: str) -> int:
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            (newest,) = self._db.execute(
                "SELECT COALESCE(MAX(version), 0) FROM calibration WHERE user_id = ?", (user_id,)
            ).fetchone()
            self._db.execute(
                "INSERT INTO calibration (user_id, version, saved_ms, data) VALUES (?, ?, ?, ?)",
                (user_id, newest + 1, int(time.time() * 1000), data),
            )
            return int(newest + 1)

    def get(self, user_id: str, version: int | None = None) -> CalibrationTable | None:
        query = "SELECT data FROM calibration WHERE user_id = ?"
        params: tuple[str | int, ...] = (user_id,)
        if version is not None:
            query += " AND version = ?"
            params += (version,)
        with self._lock:
            row = self._db.execute(query + " ORDER BY version DESC LIMIT 1", params).fetchone()
        return CalibrationTable.from_dict(json.loads(row[0]), user_id) if row else None

    def history(self, user_id: str) -> list[dict[str, int]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT version, saved_ms FROM calibration WHERE user_id = ? ORDER BY version", (user_id,)
            ).fetchall()
        return [{"version": v, "saved_ms": t} for v, t in rows]

    def delete(self, user_id: str) -> int:
        """Erase every version of a user's table; returns how many were removed."""
        with self._lock:
            with self._db:
                self._db.execute("BEGIN IMMEDIATE")
                removed = self._db.execute("DELETE FROM calibration WHERE user_id = ?", (user_id,)).rowcount
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return removed

    def close(self) -> None:
        with self._lock:
            self._db.close()
