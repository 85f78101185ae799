from calibration.store import CalibrationStore
from tests.test_calibration_table import table


def test_versions_survive_a_restart(tmp_path):
    path = tmp_path / "cal.sqlite3"
    store = CalibrationStore(path)
    v1 = store.put(table())
    t2 = table()
    v2 = store.put(t2)
    store.close()
    reopened = CalibrationStore(path)  # a server restart
    assert [h["version"] for h in reopened.history("u")] == [v1, v2]
    assert reopened.get("u").blink_closed == (0.8, 0.8)
    assert reopened.get("u", version=v1) is not None
    assert reopened.get("nobody") is None
    assert reopened.delete("u") == 2 and reopened.get("u") is None
    reopened.close()


def test_uses_wal(tmp_path):
    store = CalibrationStore(tmp_path / "c.sqlite3")
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()
