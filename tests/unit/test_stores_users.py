"""Erasing a user: every kind of data that names them, gone from the files themselves."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from avatar_mapping.features import FaceFeatures
from avatar_mapping.voice_features import VoiceFeatures
from calibration.table import CalibrationTable
from server.assets.rig_store import RigStore
from server.protocol.recording import Recorder, new_header
from server.stores.calibration import CalibrationStore
from server.stores.recordings import RecordingStore
from server.stores.users import erase_user
from server.stores.votes import VoteStore, parse_vote
from tests.support.paths import REPO
from tests.support.samples import example_table

USER, OTHER = "erase-me-7f3a9c", "keep-me-2b81d0"
# A value only the user's tables hold: its bytes must not survive anywhere.
MARKER_GAIN = 3.14159265358979


def users_table(user: str) -> CalibrationTable:
    d = example_table().to_dict()
    d["user_id"] = user
    d["channels"]["jawOpen"]["gain"] = MARKER_GAIN if user == USER else 1.0
    return CalibrationTable.from_dict(d)


def record(store: RecordingStore, session: str, user: str | None) -> None:
    path = store.path_for(session)
    path.parent.mkdir(parents=True, exist_ok=True)
    rec = Recorder(path.open("wb"), new_header("arkit52", "direct", {}, None, 60.0, f"session:{session}", user))
    rec.write(0.0, FaceFeatures.from_blendshapes(np.full(52, 0.2), 0), VoiceFeatures.silent(0))
    rec.close()


def stores(tmp_path: Path) -> tuple[CalibrationStore, RecordingStore, VoteStore, RigStore]:
    data = tmp_path / "data"
    return (
        CalibrationStore(data / "calibration.sqlite3"),
        RecordingStore(data / "recordings"),
        VoteStore(data / "ab_votes.sqlite3"),
        RigStore.from_dir(REPO / "rigs", data / "rigs"),
    )


def fill(calibration: CalibrationStore, recordings: RecordingStore, votes: VoteStore, rigs: RigStore) -> None:
    for user in (USER, OTHER):
        for _ in range(3):
            calibration.put(users_table(user))
        record(recordings, f"s-{user}", user)
        votes.add(
            parse_vote(
                {
                    "trial_id": f"t-{user}",
                    "strategy_a": "direct",
                    "strategy_b": "hybrid",
                    "chosen": "A",
                    "comment": f"by {user}",
                    "user_id": user,
                }
            )
        )
        builtin = rigs.get("arkit52")
        assert builtin is not None
        rig = builtin.to_dict()
        rig["id"] = f"avatar-of-{user}"
        from avatar_mapping.rig import RigDefinition

        rigs.add(RigDefinition.from_dict(rig), owner=user, avatar=b"glTF" + f"the avatar file of {user}".encode())
    record(recordings, "s-anonymous", None)


def test_erasing_a_user_removes_their_data_and_its_bytes_and_nothing_else(tmp_path: Path) -> None:
    calibration, recordings, votes, rigs = stores(tmp_path)
    fill(calibration, recordings, votes, rigs)
    erased = erase_user(USER, calibration, recordings, votes, rigs)
    assert erased.as_dict() == {"user_id": USER, "calibration_versions": 3, "recordings": 1, "votes": 1, "rigs": 1}
    assert calibration.get(USER) is None and calibration.get(OTHER) is not None
    assert sorted(r["user_id"] or "" for r in recordings.list()) == ["", OTHER]
    assert [v["trial_id"] for v in votes.all()] == [f"t-{OTHER}"]
    assert rigs.get(f"avatar-of-{USER}") is None and rigs.get(f"avatar-of-{OTHER}") is not None
    # Read while the stores are open, as a running server keeps them (closing checkpoints the WAL).
    data = tmp_path / "data"
    files = [p for p in data.rglob("*") if p.is_file()]
    assert {"calibration.sqlite3-wal", "ab_votes.sqlite3-wal"} <= {p.name for p in files}
    everything = b""
    for p in files:
        raw = p.read_bytes()
        everything += raw
        assert USER.encode() not in raw, f"{p.name} still names the user"
        assert json.dumps(MARKER_GAIN).encode() not in raw, f"{p.name} still holds the user's table"
    assert OTHER.encode() in everything  # what was not erased is still there
    calibration.close()
    votes.close()
    # the rigs folder reloads without the erased one; the avatar files went with their rigs
    assert RigStore.from_dir(REPO / "rigs", data / "rigs").owner(f"avatar-of-{OTHER}") == OTHER
    assert sorted(p.name for p in (data / "rigs").glob("*.glb")) == [f"avatar-of-{OTHER}.glb"]
    assert rigs.avatar(f"avatar-of-{USER}") is None and rigs.avatar(f"avatar-of-{OTHER}") is not None


def test_deleting_one_calibration_also_leaves_no_copy_in_the_wal(tmp_path: Path) -> None:
    """A deleted table used to stay readable in SQLite's -wal file."""
    calibration = CalibrationStore(tmp_path / "c.sqlite3")
    calibration.put(users_table(USER))
    assert calibration.delete(USER) == 1
    for p in tmp_path.iterdir():
        assert USER.encode() not in p.read_bytes(), p.name
    calibration.close()


def test_recordings_expire_after_their_retention(tmp_path: Path) -> None:
    store = RecordingStore(tmp_path / "recordings")
    record(store, "old", None)
    record(store, "new", None)
    import os

    week_ago = store.path_for("old").stat().st_mtime - 7 * 86400
    os.utime(store.path_for("old"), (week_ago, week_ago))
    assert store.expire(3 * 86400) == 1 and [r["id"] for r in store.list()] == ["new"]


def test_a_rig_of_another_owner_or_a_built_in_one_is_not_removed(tmp_path: Path) -> None:
    rigs = stores(tmp_path)[3]
    with pytest.raises(PermissionError):
        rigs.remove("arkit52")
    with pytest.raises(KeyError):
        rigs.remove("nope")
    assert rigs.erase_user("nobody") == 0
