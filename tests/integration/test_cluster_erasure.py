"""Erasing a user on a cluster (server/cluster/erasure.py, the JetStream stores' erasure in
server/cluster/buckets.py), on a real nats-server with deploy/nats.conf's roles: the edge erases
the shared stores and every live worker its own recordings; then every file of the JetStream
store is read back — the user's bytes must be gone from the disk, not only from the index."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from nats.aio.client import Client

from avatar_mapping.rig import RigDefinition
from server.assets.rig_store import RigStore
from server.cluster.calibration_kv import JetStreamCalibrationStore
from server.cluster.erasure import ClusterEraser, ErasureResponder
from server.cluster.link import LinkOptions, SyncLink
from server.cluster.rig_objects import ObjectStoreRigs
from server.cluster.subjects import worker_alive
from server.cluster.votes_kv import JetStreamVoteStore
from server.live.registry import SessionRegistry
from server.metrics import Metrics
from server.protocol.recording import Recorder, RecordingHeader
from server.stores.recordings import RecordingStore
from server.stores.users import erase_user
from tests.support.nats_server import NatsServer, nats_server
from tests.support.paths import REPO
from tests.support.samples import example_table

# What only the erased user's data holds (the user id is in every table, vote and rig document).
USER = "erase-me-4f1c9b"
SECRETS = (USER, "1.2345678", "a comment only erase-me wrote", "rig-of-erase-me")
OTHER = "keep-me-77ad02"


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[NatsServer]:
    """A nats-server of its own, whose JetStream store (tmp_path/jetstream) only this test writes."""
    with nats_server(tmp_path) as nats:
        yield nats


def links(nats: NatsServer) -> tuple[SyncLink, SyncLink]:
    """A worker's link (which may create the buckets, as workers do) and an edge's (which erases)."""
    return SyncLink(LinkOptions(nats.url("worker"), "erasure-test-worker")), SyncLink(
        LinkOptions(nats.url("edge"), "erasure-test-edge")
    )


def files_holding(folder: Path, text: str) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and text.encode() in p.read_bytes()]


def eventually_on_disk(folder: Path, text: str) -> None:
    deadline = time.monotonic() + 5
    while not files_holding(folder, text):
        assert time.monotonic() < deadline, f"{text!r} never reached the store's files"
        time.sleep(0.05)


def write_recording(store: RecordingStore, recording_id: str, user_id: str) -> None:
    store.folder.mkdir(parents=True, exist_ok=True)
    with store.path_for(recording_id).open("wb") as f:
        Recorder(f, RecordingHeader("arkit52", "direct", {}, None, 30.0, 0, "camera", user_id)).close()


def test_erasing_a_user_leaves_none_of_their_bytes_in_the_jetstream_store(server: NatsServer, tmp_path: Path) -> None:
    worker_link, edge_link = links(server)
    try:
        JetStreamCalibrationStore(worker_link), JetStreamVoteStore(worker_link), ObjectStoreRigs(worker_link)  # buckets
        calibration, votes = JetStreamCalibrationStore(edge_link), JetStreamVoteStore(edge_link)
        rigs = RigStore.from_dir(REPO / "rigs", mirror=ObjectStoreRigs(edge_link))
        for i in range(3):
            calibration.put(replace(example_table(), user_id=USER, head_neutral_deg=(1.2345678, float(i), 0.0)))
        calibration.put(replace(example_table(), user_id=OTHER))
        vote = {"strategy_a": "direct", "strategy_b": "hybrid", "chosen": "A", "rating": 4, "blind": True}
        votes.add({**vote, "trial_id": "t-erase", "comment": SECRETS[2], "user_id": USER})
        votes.add({**vote, "trial_id": "t-keep", "comment": "kept", "user_id": OTHER})
        built_in = rigs.get("arkit52")
        assert built_in is not None
        rigs.add(RigDefinition.from_dict({**built_in.to_dict(), "id": SECRETS[3]}), owner=USER)
        rigs.add(RigDefinition.from_dict({**built_in.to_dict(), "id": SECRETS[3]}), owner=USER, replace=True)
        rigs.add(RigDefinition.from_dict({**built_in.to_dict(), "id": "rig-kept"}), owner=OTHER)
        store_dir = tmp_path / "jetstream"
        for text in (*SECRETS, OTHER):
            eventually_on_disk(store_dir, text)  # so the greps below can see bytes at all

        erased = erase_user(USER, calibration, RecordingStore(tmp_path / "edge-recordings"), votes, rigs)

        assert (erased.calibration_versions, erased.votes, erased.rigs) == (3, 1, 1)
        time.sleep(0.5)  # nats-server writes its blocks asynchronously
        assert {text: files_holding(store_dir, text) for text in SECRETS} == {text: [] for text in SECRETS}
        assert files_holding(store_dir, OTHER)  # the others' data is still there, and still read
        assert calibration.get(USER) is None and calibration.history(USER) == []
        assert calibration.get(OTHER) is not None and rigs.get("rig-kept") is not None
        assert [v["trial_id"] for v in votes.all()] == ["t-keep"]
        assert erase_user(USER, calibration, RecordingStore(tmp_path / "edge-recordings"), votes, rigs).as_dict() == {
            "user_id": USER,
            "calibration_versions": 0,
            "recordings": 0,
            "votes": 0,
            "rigs": 0,
        }
    finally:
        edge_link.close()
        worker_link.close()


async def connect(nats: NatsServer, role: str) -> Client:
    return await LinkOptions(nats.url(role), f"erasure-test-{role}").connect()


def test_every_live_worker_erases_its_own_recordings_and_a_silent_one_is_named(
    server: NatsServer, tmp_path: Path
) -> None:
    async def scenario() -> None:
        edge, worker_a, worker_b = (
            await connect(server, "edge"),
            await connect(server, "worker"),
            await connect(server, "worker"),
        )
        a_recordings, b_recordings = RecordingStore(tmp_path / "a"), RecordingStore(tmp_path / "b")
        write_recording(a_recordings, "a1", USER)
        write_recording(a_recordings, "a2", USER)
        write_recording(b_recordings, "b1", USER)
        write_recording(b_recordings, "b2", OTHER)
        registry = SessionRegistry(Metrics(), 8, 16, 1.0)
        responders = [
            await ErasureResponder.start(worker_a, "wa", a_recordings, registry),
            await ErasureResponder.start(worker_b, "wb", b_recordings, registry),
        ]
        eraser = await ClusterEraser.start(edge, timeout_s=1.0, worker_timeout_s=0.5)

        async def heartbeat(stop: asyncio.Event) -> None:  # wa and wb alive, and wc: alive but never answering
            while not stop.is_set():
                for client, worker in ((worker_a, "wa"), (worker_b, "wb"), (worker_b, "wc")):
                    await client.publish(worker_alive(worker), b"")
                await asyncio.sleep(0.1)

        stop = asyncio.Event()
        beating = asyncio.create_task(heartbeat(stop))
        try:
            first = await eraser(USER)
            assert (first.recordings, first.answered, first.unanswered) == (3, 2, ("wc",))
            assert [p.stem for p in a_recordings.files() + b_recordings.files()] == ["b2"]
            stop.set()
            await beating
            await asyncio.sleep(0.7)  # every heartbeat is older than the workers' timeout: nobody is alive
            started = time.monotonic()
            again = await eraser(USER)
            assert (again.unanswered, again.recordings) == ((), 0)  # whoever answers is counted, nobody waited for
            assert time.monotonic() - started < 0.5
        finally:
            stop.set()
            await beating
            await eraser.close()
            for responder in responders:
                await responder.close()
            for client in (edge, worker_a, worker_b):
                await client.close()

    asyncio.run(scenario())
