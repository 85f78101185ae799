"""DELETE /v1/users/{user_id} and `avatar-driver user erase`: a user's data, erased through the
server (live sessions included) or with the server stopped."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cbor2
from fastapi.testclient import TestClient

from server.app import create_app
from server.settings import Settings
from server.stores.users import WorkersErased
from tests.support.samples import example_table
from tests.support.ws_client import hello, recv, recv_until


def test_erasing_a_user_through_the_server(settings: Settings, avatars: Path) -> None:
    table = example_table().to_dict()
    with TestClient(create_app(settings)) as c:
        assert c.put("/v1/calibration/ana", json=table).status_code == 200
        assert c.put("/v1/calibration/ana", json=table).status_code == 200
        r = c.post("/v1/rigs?filename=ana.glb&user_id=ana", content=(avatars / "brunette-t.glb").read_bytes())
        assert r.status_code == 201
        assert (
            c.post(
                "/v1/ab/votes",
                json={
                    "trial_id": "t1",
                    "strategy_a": "direct",
                    "strategy_b": "hybrid",
                    "chosen": "B",
                    "user_id": "ana",
                },
            ).status_code
            == 201
        )
        with c.websocket_connect("/v1/stream") as ws:
            ws.send_bytes(hello(camera=False, user_id="ana", consent={"camera": False, "record": True}))
            assert recv(ws)["payload"]["calibration_user_id"] == "ana"
            recv_until(ws, "avatar_frame")
            assert [r["user_id"] for r in c.get("/v1/recordings").json()] == ["ana"]  # recording, live
            erased = c.delete("/v1/users/ana").json()
            ws.send_bytes(cbor2.dumps({"type": "configure", "payload": {"adaptive": False}}))
            configured = recv_until(ws, "configured")["payload"]
        assert erased == {"user_id": "ana", "calibration_versions": 2, "recordings": 1, "votes": 1, "rigs": 1}
        assert configured["calibration_user_id"] is None  # the live session lost the table at once
        assert c.get("/v1/recordings").json() == []  # the live recording went with the user
        assert c.get("/v1/calibration/ana").status_code == 404 and c.get("/v1/rigs/ana").status_code == 404
        assert c.delete("/v1/users/ana").json() == {
            "user_id": "ana",
            "calibration_versions": 0,
            "recordings": 0,
            "votes": 0,
            "rigs": 0,
        }
        assert c.delete("/v1/rigs/arkit52").status_code == 409 and c.delete("/v1/rigs/nope").status_code == 404


def test_the_command_line_erases_with_the_server_stopped(settings: Settings, tmp_path: Path) -> None:
    table = example_table().to_dict()
    with TestClient(create_app(settings)) as c:
        assert c.put("/v1/calibration/bo", json=table).status_code == 200
    env = {
        "AVATAR_DRIVER_DATA_DIR": str(settings.data_dir),
        "AVATAR_DRIVER_MODELS": str(settings.models),
        "PATH": "/usr/bin:/bin",
    }
    out = subprocess.run(
        [sys.executable, "-m", "server.cli", "user", "erase", "bo"], capture_output=True, text=True, env=env, check=True
    )
    assert json.loads(out.stdout)["calibration_versions"] == 1
    with TestClient(create_app(settings)) as c:
        assert c.get("/v1/calibration/bo").status_code == 404


def test_on_a_cluster_edge_the_workers_recordings_are_counted_and_a_silent_worker_makes_it_503(
    settings: Settings,
) -> None:
    """An edge used to answer `recordings: 0` while the recording stayed on the worker: now every
    live worker erases its own (cluster/erasure.py) and the answer counts them; a live worker
    that did not answer makes the erasure incomplete, said with 503 and Retry-After."""
    asked: list[str] = []
    silent: list[tuple[str, ...]] = [()]

    async def erase_on_workers(user_id: str) -> WorkersErased:
        asked.append(user_id)
        return WorkersErased(recordings=2, answered=2, unanswered=silent[0])

    with TestClient(create_app(settings)) as c:
        c.app.state.services.erase_on_workers = erase_on_workers  # type: ignore[attr-defined]
        assert c.put("/v1/calibration/cy", json=example_table().to_dict()).status_code == 200
        done = c.delete("/v1/users/cy")
        silent[0] = ("w-lost",)
        incomplete = c.delete("/v1/users/cy")
    assert asked == ["cy", "cy"]
    assert done.status_code == 200 and done.json() == {
        "user_id": "cy",
        "calibration_versions": 1,
        "recordings": 2,
        "votes": 0,
        "rigs": 0,
    }
    assert incomplete.status_code == 503 and incomplete.headers["retry-after"] == "2"
    assert incomplete.json()["detail"]["unanswered_workers"] == ["w-lost"]
    assert incomplete.json()["detail"]["erased"]["recordings"] == 2
