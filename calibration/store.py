"""SQLite storage of calibration tables: every version kept, the newest one applies.

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

from .table import CalibrationTable

DB_SCHEMA_VERSION = 1


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
            self._db.execute("""CREATE TABLE IF NOT EXISTS calibration (
                version INTEGER PRIMARY KEY AUTOINCREMENT,
                user_id TEXT NOT NULL,
                saved_ms INTEGER NOT NULL,
                data TEXT NOT NULL)""")
            self._db.execute("CREATE INDEX IF NOT EXISTS calibration_user ON calibration (user_id, version)")
            row = self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is None:
                self._db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(DB_SCHEMA_VERSION),))
            elif int(row[0]) != DB_SCHEMA_VERSION:
                raise RuntimeError(f"{self.path}: calibration database schema {row[0]}, this server reads "
                                   f"{DB_SCHEMA_VERSION}")

    def put(self, table: CalibrationTable) -> int:
        """Store a new version; returns its version number."""
        data = json.dumps(table.to_dict(), allow_nan=False)
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            cur = self._db.execute("INSERT INTO calibration (user_id, saved_ms, data) VALUES (?, ?, ?)",
                                   (table.user_id, int(time.time() * 1000), data))
            return int(cur.lastrowid)

    def get(self, user_id: str, version: int | None = None) -> CalibrationTable | None:
        query = "SELECT data FROM calibration WHERE user_id = ?"
        params: tuple = (user_id,)
        if version is not None:
            query += " AND version = ?"
            params += (version,)
        with self._lock:
            row = self._db.execute(query + " ORDER BY version DESC LIMIT 1", params).fetchone()
        return CalibrationTable.from_dict(json.loads(row[0]), user_id) if row else None

    def history(self, user_id: str) -> list[dict[str, int]]:
        with self._lock:
            rows = self._db.execute("SELECT version, saved_ms FROM calibration WHERE user_id = ? ORDER BY version",
                                    (user_id,)).fetchall()
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
