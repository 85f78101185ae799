import json
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

from calibration.table import CalibrationTable
from server.stores.calibration import CalibrationStore
from tests.support.samples import example_table as u_table


def table(user_id: str = "u", **kw: Any) -> CalibrationTable:
    return replace(u_table(), user_id=user_id, **kw)


def test_versions_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "cal.sqlite3"
    store = CalibrationStore(path)
    v1 = store.put(table())
    t2 = table()
    v2 = store.put(t2)
    store.close()
    reopened = CalibrationStore(path)  # a server restart
    assert [h["version"] for h in reopened.history("u")] == [v1, v2]
    latest = reopened.get("u")
    assert latest is not None and latest.blink_closed == (0.8, 0.8)
    assert reopened.get("u", version=v1) is not None
    assert reopened.get("nobody") is None
    assert reopened.delete("u") == 2 and reopened.get("u") is None
    reopened.close()


def test_uses_wal(tmp_path: Path) -> None:
    store = CalibrationStore(tmp_path / "c.sqlite3")
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()


def test_versions_are_numbered_per_user_and_revert_stores_an_old_one_as_the_newest(tmp_path: Path) -> None:
    store = CalibrationStore(tmp_path / "c.sqlite3")
    assert store.put(table()) == 1
    assert store.put(table(user_id="other")) == 1  # another user's history starts at 1 too
    assert store.put(table(blink_closed=(0.9, 0.9))) == 2
    assert store.revert("u", 1) == 3  # undo the second: the first applies again
    current, second = store.get("u"), store.get("u", 2)
    assert current is not None and second is not None
    assert current.blink_closed == (0.8, 0.8) and second.blink_closed == (0.9, 0.9)
    assert [h["version"] for h in store.history("u")] == [1, 2, 3]
    assert store.revert("u", 9) is None and store.revert("nobody", 1) is None
    store.close()


def test_a_schema_1_database_is_migrated_to_per_user_versions(tmp_path: Path) -> None:
    """Schema 1 numbered every user's versions in one global sequence."""
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript("""CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        INSERT INTO meta VALUES ('schema_version', '1');
        CREATE TABLE calibration (version INTEGER PRIMARY KEY AUTOINCREMENT, user_id TEXT NOT NULL,
                                  saved_ms INTEGER NOT NULL, data TEXT NOT NULL);
        CREATE INDEX calibration_user ON calibration (user_id, version);""")
    for user, closed in (("u", 0.8), ("other", 0.7), ("u", 0.9)):
        db.execute(
            "INSERT INTO calibration (user_id, saved_ms, data) VALUES (?, 0, ?)",
            (user, json.dumps(table(user_id=user, blink_closed=(closed, closed)).to_dict())),
        )
    db.commit()
    db.close()
    store = CalibrationStore(path)
    assert [h["version"] for h in store.history("u")] == [1, 2]
    latest = store.get("u")
    assert latest is not None and latest.blink_closed == (0.9, 0.9)
    assert [h["version"] for h in store.history("other")] == [1]
    assert store.put(table()) == 3
    store.close()
    assert CalibrationStore(path).get("u", 3) is not None  # opens again as schema 2
