"""deploy/nats.conf's per-role JetStream permissions, on a real nats-server (issue 24, item 3).

Each role connects and tries every JetStream API call either role's code makes, and the calls
an attacker holding the credential would: an edge's credential could add a stream on
`avatar.conn.*.in` (persisting every camera frame) or `.out` (every welcome's resume token).
A call is *answered* when JetStream replies (even with an error: a bad request, no such
message — the permission let it through) and *denied* when the server refuses the publish
(a permissions violation naming the subject). Then each role's real stores run against the
same server, so what the code does still works under the file.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import nats as nats_client
import nats.errors
import pytest

from calibration.table import CalibrationTable
from server.cluster.directory import SessionDirectory
from server.cluster.node import open_shared_stores
from server.cluster.relay import DirectoryEntry
from server.services import SharedStores
from server.settings import Settings
from tests.support.nats_server import NatsServer
from tests.support.samples import example_table

API = "$JS.API"
# A JetStream publish that must be rejected (a wrong expected sequence) yet answered.
NO_WRITE = {"Nats-Expected-Last-Subject-Sequence": "999999999"}
CAPTURE = json.dumps({"name": "capture", "subjects": ["avatar.conn.*.in", "avatar.conn.*.out"]}).encode()

# (subject, body, headers): what only the edge's code calls (REST on votes and rigs, erasure).
EDGE_CALLS: list[tuple[str, bytes, dict[str, str] | None]] = [
    (
        f"{API}.STREAM.MSG.GET.KV_avatar_votes",
        json.dumps({"seq": 1, "next_by_subj": "$KV.avatar_votes.>"}).encode(),
        None,
    ),
    (f"{API}.STREAM.MSG.DELETE.KV_avatar_votes", json.dumps({"seq": 999999999}).encode(), None),
    (f"{API}.STREAM.MSG.DELETE.KV_avatar_calibration", json.dumps({"seq": 999999999}).encode(), None),
    (f"{API}.STREAM.MSG.DELETE.OBJ_avatar_rigs", json.dumps({"seq": 999999999}).encode(), None),
    (f"{API}.STREAM.PURGE.OBJ_avatar_rigs", json.dumps({"filter": "$O.avatar_rigs.C.none"}).encode(), None),
    (f"{API}.CONSUMER.CREATE.KV_avatar_votes", b"", None),
    (f"{API}.CONSUMER.DELETE.KV_avatar_votes.none", b"", None),
    ("$KV.avatar_votes.permission-probe", b"x", NO_WRITE),
    ("$O.avatar_rigs.M.permission-probe", b"x", NO_WRITE),
]
# What only the worker's code calls: creating the buckets, keeping and listing the directory.
WORKER_CALLS: list[tuple[str, bytes, dict[str, str] | None]] = [
    (f"{API}.STREAM.CREATE.KV_avatar_sessions", b"", None),
    (f"{API}.STREAM.CREATE.KV_avatar_calibration", b"", None),
    (f"{API}.STREAM.UPDATE.KV_avatar_sessions", b"", None),
    (f"{API}.STREAM.MSG.GET.KV_avatar_sessions", json.dumps({"seq": 1}).encode(), None),
    (f"{API}.DIRECT.GET.KV_avatar_sessions", json.dumps({"seq": 1}).encode(), None),
    ("$KV.avatar_sessions.permission-probe", b"x", NO_WRITE),
]
# Both roles' code: opening the buckets, reading and watching calibration (a worker's wizard
# writes it too), reading rigs, reading the session directory by key (never listing it).
SHARED_CALLS: list[tuple[str, bytes, dict[str, str] | None]] = [
    (f"{API}.STREAM.NAMES", b"", None),
    *((f"{API}.STREAM.INFO.{s}", b"", None) for s in ("KV_avatar_calibration", "KV_avatar_votes", "OBJ_avatar_rigs")),
    (f"{API}.STREAM.INFO.KV_avatar_sessions", b"", None),
    (f"{API}.STREAM.MSG.GET.OBJ_avatar_rigs", json.dumps({"last_by_subj": "$O.avatar_rigs.M.none"}).encode(), None),
    (f"{API}.CONSUMER.CREATE.KV_avatar_calibration", b"", None),
    ("$KV.avatar_calibration.permission-probe", b"x", NO_WRITE),
    (f"{API}.DIRECT.GET.KV_avatar_sessions.$KV.avatar_sessions.no-such-session", b"", None),
]
# Nobody: another stream (capturing media), changing or removing the buckets' streams.
NOBODY_CALLS: list[tuple[str, bytes, dict[str, str] | None]] = [
    (f"{API}.STREAM.CREATE.capture", CAPTURE, None),
    (f"{API}.STREAM.UPDATE.KV_avatar_calibration", b"", None),
    (f"{API}.STREAM.DELETE.KV_avatar_sessions", b"", None),
    (f"{API}.STREAM.DELETE.OBJ_avatar_rigs", b"", None),
    (f"{API}.CONSUMER.CREATE.capture", b"", None),
    (f"{API}.STREAM.LIST", b"", None),
]


@pytest.fixture(scope="module")
def buckets(nats: NatsServer) -> NatsServer:
    nats.create_buckets()
    return nats


def outcomes(url: str, calls: list[tuple[str, bytes, dict[str, str] | None]]) -> dict[str, str]:
    """Each call's subject → "answered" or "denied" (the server's violation named it)."""

    async def scenario() -> dict[str, str]:
        violations: list[str] = []

        async def on_error(e: Exception) -> None:
            violations.append(str(e))

        client = await nats_client.connect(url, error_cb=on_error, allow_reconnect=False)

        async def one(subject: str, body: bytes, headers: dict[str, str] | None) -> bool:
            try:
                await client.request(subject, body, timeout=1.5, headers=headers)
                return True
            except nats.errors.TimeoutError:
                return False

        answered = await asyncio.gather(*(one(*call) for call in calls))
        await client.close()
        # (nats-py lowercases the server's message)
        refused = {m.group(1) for v in violations if (m := re.search(r'publish to "([^"]+)"', v.lower()))}
        result = {}
        for (subject, _, _), ok in zip(calls, answered, strict=True):
            assert ok != (subject.lower() in refused), f"{subject}: neither answered nor refused by a violation"
            result[subject] = "answered" if ok else "denied"
        return result

    return asyncio.run(scenario())


def subjects(calls: list[tuple[str, bytes, dict[str, str] | None]]) -> set[str]:
    return {subject for subject, _, _ in calls}


def test_an_edge_may_make_its_own_calls_and_none_of_the_workers_nor_add_a_stream(buckets: NatsServer) -> None:
    got = outcomes(buckets.url("edge"), EDGE_CALLS + SHARED_CALLS + WORKER_CALLS + NOBODY_CALLS)
    assert {s for s, o in got.items() if o == "answered"} == subjects(EDGE_CALLS + SHARED_CALLS)
    assert {s for s, o in got.items() if o == "denied"} == subjects(WORKER_CALLS + NOBODY_CALLS)


def test_a_worker_may_make_its_own_calls_and_none_of_the_edges_nor_add_another_stream(buckets: NatsServer) -> None:
    got = outcomes(buckets.url("worker"), EDGE_CALLS + SHARED_CALLS + WORKER_CALLS + NOBODY_CALLS)
    assert {s for s, o in got.items() if o == "answered"} == subjects(WORKER_CALLS + SHARED_CALLS)
    assert {s for s, o in got.items() if o == "denied"} == subjects(EDGE_CALLS + NOBODY_CALLS)


def test_nobody_may_subscribe_to_the_api_or_the_buckets_subjects(buckets: NatsServer) -> None:
    async def violations(url: str) -> list[str]:
        errors: list[str] = []

        async def on_error(e: Exception) -> None:
            errors.append(str(e).lower())

        client = await nats_client.connect(url, error_cb=on_error, allow_reconnect=False)
        for subject in ("$JS.API.>", "$KV.avatar_sessions.>", "$KV.avatar_calibration.>", "$O.avatar_rigs.>"):
            await client.subscribe(subject)
        await client.flush()
        await asyncio.sleep(0.3)
        await client.close()
        return errors

    for role in ("edge", "worker"):
        errors = asyncio.run(violations(buckets.url(role)))
        assert len(errors) == 4 and all("permissions violation for subscription" in e for e in errors), (role, errors)


def test_an_edge_cannot_persist_what_crosses_the_relay(buckets: NatsServer) -> None:
    """The attack: as `edge`, a stream on the connections' subjects. Refused; no such stream."""

    async def attack() -> tuple[type[BaseException] | None, bool]:
        edge = await nats_client.connect(buckets.url("edge"), error_cb=_ignore, allow_reconnect=False)
        worker = await nats_client.connect(buckets.url("worker"), allow_reconnect=False)
        raised: type[BaseException] | None = None
        try:
            await edge.jetstream(timeout=1.5).add_stream(name="capture", subjects=["avatar.conn.*.in"])
        except (nats.errors.Error, TimeoutError) as e:
            raised = type(e)
        names = await worker.request(f"{API}.STREAM.NAMES", json.dumps({"subject": "avatar.conn.x.in"}).encode())
        exists = bool(json.loads(names.data).get("streams"))  # a stream that would keep that client's frames
        await edge.close()
        await worker.close()
        return raised, exists

    raised, exists = asyncio.run(attack())
    assert raised is not None and not exists


async def _ignore(_: Exception) -> None:
    pass


@pytest.fixture()
def stores(buckets: NatsServer, request: pytest.FixtureRequest) -> Iterator[SharedStores]:
    role = request.param
    shared = open_shared_stores(Settings(cluster=buckets.url(role), role=role))
    yield shared
    shared.close()


@pytest.mark.parametrize("stores", ["edge"], indirect=True)
def test_the_edges_stores_work_under_its_permissions(stores: SharedStores, tmp_path: Path) -> None:
    user = f"permitted-edge-{time.monotonic_ns()}"
    table: CalibrationTable = example_table()
    table = CalibrationTable.from_dict(table.to_dict(), user)
    assert stores.calibration.put(table) == 1
    assert stores.calibration.get(user) is not None and len(stores.calibration.history(user)) == 1
    stores.rigs.put(f"rig-{user}", {"owner": user, "channels": []})
    assert stores.rigs.get(f"rig-{user}") == {"owner": user, "channels": []}
    assert stores.rigs.delete(f"rig-{user}") is True
    assert stores.calibration.delete(user) == 1 and stores.calibration.get(user) is None


@pytest.mark.parametrize("stores", ["worker"], indirect=True)
def test_the_workers_stores_and_directory_work_under_its_permissions(stores: SharedStores, buckets: NatsServer) -> None:
    user = f"permitted-worker-{time.monotonic_ns()}"
    table = CalibrationTable.from_dict(example_table().to_dict(), user)
    assert stores.calibration.put(table) == 1  # a wizard's table, saved on the worker
    assert stores.calibration.get(user) is not None
    assert stores.rigs.get("no-such-rig") is None

    async def directory() -> tuple[DirectoryEntry | None, DirectoryEntry | None]:
        client = await nats_client.connect(buckets.url("worker"))
        edge = await nats_client.connect(buckets.url("edge"))
        try:
            mine = await SessionDirectory.open(client, 10.0)
            seen_by_edge = await SessionDirectory.open(edge, 10.0)
            await mine.put(f"s-{user}", DirectoryEntry("w1", "e1", "e1-1", {"session_id": f"s-{user}"}))
            found = await seen_by_edge.get(f"s-{user}")  # an edge reads the directory by key
            await mine.delete(f"s-{user}", "w1")
            return found, await seen_by_edge.get(f"s-{user}")
        finally:
            await client.close()
            await edge.close()

    found, after = asyncio.run(directory())
    assert found is not None and found.worker == "w1" and after is None
