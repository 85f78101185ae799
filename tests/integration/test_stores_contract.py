"""The stores' contract, held against both implementations: SQLite (the embedded default) and
JetStream key-value (a cluster, on a real nats-server). Same calls, same answers."""

import itertools
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from avatar_mapping.rig import RigDefinition
from calibration.table import CalibrationTable
from server.assets.rig_store import RigStore
from server.cluster.calibration_kv import JetStreamCalibrationStore
from server.cluster.link import LinkOptions, SyncLink
from server.cluster.rig_objects import ObjectStoreRigs
from server.cluster.votes_kv import JetStreamVoteStore
from server.stores.calibration import CalibrationStorage, CalibrationStore
from server.stores.votes import VoteError, VoteStorage, VoteStore
from tests.support.nats_server import NatsServer
from tests.support.paths import REPO
from tests.support.samples import example_table as u_table

_users = itertools.count()


@pytest.fixture(scope="module")
def link(nats: NatsServer) -> Iterator[SyncLink]:
    nats.create_buckets()  # as a worker does at start; the REST side of the stores is an edge's
    link = SyncLink(LinkOptions(nats.url("edge"), "stores-test"))
    yield link
    link.close()


@pytest.fixture(params=["sqlite", "jetstream"])
def calibration(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CalibrationStorage]:
    store: CalibrationStorage
    if request.param == "sqlite":
        store = CalibrationStore(tmp_path / "c.sqlite3")
    else:
        store = JetStreamCalibrationStore(request.getfixturevalue("link"))
    yield store
    store.close()


@pytest.fixture(params=["sqlite", "jetstream"])
def votes(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VoteStorage]:
    store: VoteStorage = (
        VoteStore(tmp_path / "v.sqlite3")
        if request.param == "sqlite"
        else JetStreamVoteStore(request.getfixturevalue("link"))
    )
    yield store
    store.close()


def fresh_tag() -> str:
    """A rig id part no other test used."""
    return f"t{next(_users)}"


def fresh_user() -> str:
    """A user id no other test used (the JetStream buckets live for the whole test run);
    with characters a KV key may not hold."""
    return f"user {next(_users)}/é.*>"


def table(user_id: str, **kw: Any) -> CalibrationTable:
    return replace(u_table(), user_id=user_id, **kw)


def stored(calibration: CalibrationStorage, user_id: str, version: int | None = None) -> CalibrationTable:
    """The user's table (its latest version, or the one asked for), which the store must hold."""
    found = calibration.get(user_id, version)
    assert found is not None
    return found


def test_calibration_versions_are_per_user_kept_and_reverted(calibration: CalibrationStorage) -> None:
    u, other = fresh_user(), fresh_user()
    assert calibration.get(u) is None and calibration.history(u) == []
    assert calibration.put(table(u)) == 1
    assert calibration.put(table(other)) == 1
    assert calibration.put(table(u, blink_closed=(0.9, 0.9))) == 2
    assert calibration.revert(u, 1) == 3
    assert stored(calibration, u).blink_closed == (0.8, 0.8) and stored(calibration, u, 2).blink_closed == (0.9, 0.9)
    assert stored(calibration, u).user_id == u
    history = calibration.history(u)
    assert [h["version"] for h in history] == [1, 2, 3] and all(h["saved_ms"] > 0 for h in history)
    assert calibration.revert(u, 9) is None and calibration.revert(fresh_user(), 1) is None
    assert calibration.get(u, 9) is None


def test_deleting_a_users_calibration_erases_every_version_and_only_theirs(calibration: CalibrationStorage) -> None:
    u, other = fresh_user(), fresh_user()
    for _ in range(3):
        calibration.put(table(u))
    calibration.put(table(other))
    assert calibration.delete(u) == 3
    assert calibration.get(u) is None and calibration.history(u) == [] and calibration.get(u, 1) is None
    assert calibration.get(other) is not None
    assert calibration.delete(u) == 0
    assert calibration.put(table(u)) == 1  # a new history


def vote(trial: str, user: str | None = None, chosen: str = "A") -> dict[str, Any]:
    return {
        "trial_id": trial,
        "strategy_a": "direct",
        "strategy_b": "hybrid",
        "chosen": chosen,
        "rating": 4,
        "comment": None,
        "blind": True,
        "session_id": None,
        "user_id": user,
    }


def test_votes_are_stored_once_per_trial_and_erased_per_user(votes: VoteStorage) -> None:
    u = fresh_user()
    trials = [f"trial-{fresh_user()}" for _ in range(3)]
    first = votes.add(vote(trials[0], u))
    second = votes.add(vote(trials[1], u, "B"))
    votes.add(vote(trials[2]))
    assert second > first
    with pytest.raises(VoteError, match="already has a vote"):
        votes.add(vote(trials[0]))
    mine = [v for v in votes.all() if v["trial_id"] in trials]
    assert [v["trial_id"] for v in mine] == trials  # in the order they were cast
    assert mine[1] == {
        "trial_id": trials[1],
        "strategy_a": "direct",
        "strategy_b": "hybrid",
        "chosen": "B",
        "rating": 4,
        "blind": True,
    }
    assert votes.erase_user(u) == 2
    assert [v["trial_id"] for v in votes.all() if v["trial_id"] in trials] == [trials[2]]
    assert votes.erase_user(u) == 0


@pytest.fixture(params=["folder", "jetstream"])
def rig_stores(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], RigStore]:
    """Two RigStores over the same storage, as two processes (or a restart) see it."""
    if request.param == "folder":
        return lambda: RigStore.from_dir(REPO / "rigs", tmp_path / "uploads")
    mirror = ObjectStoreRigs(request.getfixturevalue("link"))
    return lambda: RigStore.from_dir(REPO / "rigs", mirror=mirror)


def test_uploaded_rigs_are_kept_replaced_refused_and_erased_with_their_owner(
    rig_stores: Callable[[], RigStore],
) -> None:
    """What one store does, a store opened afterwards (a restart, another process) sees."""
    store = rig_stores()
    built_in = store.get("arkit52")
    assert built_in is not None
    base = built_in.to_dict()
    tag = fresh_tag()
    mine, theirs = (RigDefinition.from_dict({**base, "id": f"rig-{tag}-{i}"}) for i in range(2))
    user = fresh_user()
    store.add(mine, owner=user)
    store.add(theirs)
    later = rig_stores()
    assert later.get(mine.id) is not None and later.owner(mine.id) == user and mine.id in later.ids()
    with pytest.raises(FileExistsError):
        later.add(mine)
    later.add(mine, replace=True, owner=user)
    with pytest.raises(FileExistsError):
        later.add(RigDefinition.from_dict(base))  # built in
    with pytest.raises(PermissionError):
        later.remove("arkit52")
    assert later.erase_user(user) == 1
    assert later.get(mine.id) is None and later.get(theirs.id) is not None
    later.remove(theirs.id)
    with pytest.raises(KeyError):
        later.remove(theirs.id)
    again = rig_stores()
    assert again.get(mine.id) is None and again.get(theirs.id) is None and mine.id not in again.ids()


def test_a_cluster_store_sees_what_another_process_changed_at_once(link: SyncLink) -> None:
    """On a cluster every process's store reads the object store: no stale copy survives."""
    edge, worker = (RigStore.from_dir(REPO / "rigs", mirror=ObjectStoreRigs(link)) for _ in range(2))
    built_in = edge.get("arkit52")
    assert built_in is not None
    rig = RigDefinition.from_dict({**built_in.to_dict(), "id": f"rig-{fresh_tag()}"})
    assert worker.get(rig.id) is None
    edge.add(rig, owner="ana")
    assert worker.get(rig.id) == rig and worker.owner(rig.id) == "ana"
    edge.remove(rig.id)
    assert worker.get(rig.id) is None and rig.id not in worker.ids()
