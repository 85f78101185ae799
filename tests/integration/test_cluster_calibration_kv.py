"""The cluster's calibration store (server/cluster/calibration_kv.py) under load and across a
nats-server restart and outage, on a real nats-server: no consumer left behind per call, no
false "no table" while JetStream recovers, and an outage is `StoreUnavailable` (REST: 503)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from server.cluster.calibration_kv import JetStreamCalibrationStore
from server.cluster.link import LinkOptions, SyncLink
from server.cluster.subjects import BUCKET_CALIBRATION
from server.stores.unavailable import StoreUnavailable
from tests.support.nats_server import NatsServer, nats_server
from tests.support.samples import example_table

CALLS = 1200


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[NatsServer]:
    with nats_server(tmp_path) as nats:
        yield nats


def consumers(link: SyncLink) -> int:
    async def count(client: object) -> int:
        info = await link.client.jetstream().stream_info(f"KV_{BUCKET_CALIBRATION}")
        return info.state.consumer_count

    return link.call(count)


def test_calibration_calls_leave_no_consumers_behind(server: NatsServer) -> None:
    """Each call used to open a KV watch whose consumer lived 5 minutes: ~1,000 calls filled the
    stream, then every calibration call failed and every hello with a user_id was `server_busy`."""
    link = SyncLink(LinkOptions(server.url("worker"), "calibration-kv-test"))
    try:
        store = JetStreamCalibrationStore(link)
        store.put(replace(example_table(), user_id="ana"))
        for i in range(CALLS):
            if i % 3 == 0:
                assert store.get("ana") is not None
            elif i % 3 == 1:
                assert len(store.history("ana")) == 1 + i // 300
            else:
                assert store.get(f"nobody-{i}") is None
            if i % 300 == 299:
                store.put(replace(example_table(), user_id="ana"))
        assert consumers(link) == 0
        assert store.get("ana") is not None
    finally:
        link.close()


def restart(nats: NatsServer) -> subprocess.Popen[bytes]:
    """The same nats-server again: its config, environment (port, store dir) and users."""
    return subprocess.Popen(nats.command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=nats.env)


def test_a_restart_and_an_outage_never_read_as_a_missing_table(server: NatsServer) -> None:
    """Right after a restart a table must not read as missing (it was: 2 false 404s), and while
    NATS is down a call is `StoreUnavailable` (503 with Retry-After), not a 500."""
    link = SyncLink(LinkOptions(server.url("worker"), "calibration-kv-restart"))
    again: subprocess.Popen[bytes] | None = None
    try:
        store = JetStreamCalibrationStore(link)
        store.put(replace(example_table(), user_id="bo"))
        server.process.terminate()
        server.process.wait(5)
        with pytest.raises(StoreUnavailable):
            store.put(replace(example_table(), user_id="bo"))
        with pytest.raises(StoreUnavailable):
            store.get("bo")
        again = restart(server)
        answers: list[str] = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and answers[-20:] != ["table"] * 20:
            try:
                answers.append("table" if store.get("bo") is not None else "none")
            except StoreUnavailable:
                answers.append("unavailable")
                time.sleep(0.02)
        assert "none" not in answers and answers[-20:] == ["table"] * 20, answers
        assert store.put(replace(example_table(), user_id="bo")) == 2
    finally:
        link.close()  # while a server is up: a link closed while reconnecting leaves its tasks pending
        if again is not None:
            again.terminate()
            again.wait(5)
