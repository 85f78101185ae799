"""POST /v1/rigs: an avatar upload is inspected in the tool pool; a hostile file is a 422
with the rule it breaks, never a 500 (the inspector itself: tests/unit/test_rig_inspect*.py)."""

import base64
import hashlib
import json
import threading
from pathlib import Path

from fastapi.testclient import TestClient

from server.app import create_app
from server.assets.rig_store import AVATAR_REPORT_KEY
from server.settings import Settings
from tests.support.gltf import BLOB, base_gltf, glb
from tests.support.server import serving
from tests.support.uploads import Upload, big_glb, rss_mib

MIB = 1 << 20


def test_the_upload_endpoint_answers_422_not_500(settings: Settings) -> None:
    doc = base_gltf()
    doc["bufferViews"][1]["byteStride"] = -4
    with TestClient(create_app(settings)) as c:
        r = c.post("/v1/rigs?filename=evil.glb", content=glb(doc))
        assert r.status_code == 422 and "byteStride" in r.json()["detail"]
        doc = base_gltf()
        doc["buffers"][0] = {
            "byteLength": len(BLOB),
            "uri": "data:application/octet-stream;base64," + base64.b64encode(BLOB).decode(),
        }
        assert c.post("/v1/rigs?filename=ok.gltf", content=json.dumps(doc).encode()).status_code == 201


def test_concurrent_uploads_beyond_the_body_budget_are_refused_before_their_bodies_are_read(
    settings: Settings,
) -> None:
    """Issue 24 item 11: 24 uploads at once were each read whole before anything checked
    capacity (24 x 60 MiB: 2.4 GB). With a budget of 32 MiB of bodies in flight, 8 MiB
    uploads: 4 are read, 20 get 503 with Retry-After while their bodies were never sent, the
    server's memory stays within a few budgets, and the budget comes back when they end."""
    settings.max_upload_bytes, settings.max_body_bytes_in_flight = 16 * MIB, 32 * MIB
    body = big_glb(8 * MIB)
    with serving(settings) as port:  # the server runs in this process: its RSS is ours
        peak, stop = [rss_mib()], threading.Event()

        def sample() -> None:
            while not stop.wait(0.01):
                peak.append(rss_mib())

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        uploads = [Upload(port, f"/v1/rigs?id=big_{i}&filename=big.glb", len(body)) for i in range(24)]
        for up in uploads:
            up.start()
        early = {i for i, up in enumerate(uploads) if up.answered(0.5 if i < 4 else 2.0)}
        senders = [threading.Thread(target=up.send, args=(body,)) for i, up in enumerate(uploads) if i not in early]
        for t in senders:  # all at once, as the attack did
            t.start()
        for t in senders:
            t.join()
        answers = [up.answer() for up in uploads]
        for up in uploads:
            up.close()
        after = Upload(port, "/v1/rigs?id=big_after&filename=big.glb", len(body))  # the budget came back
        after.start()
        after.send(body)
        again = after.answer()
        after.close()
        stop.set()
        sampler.join()
    refused = [a for a in answers if a.status == 503]
    assert len(early) == len(refused) == 20 and {answers[i].status for i in early} == {503}
    assert all(a.headers.get("retry-after") == "2" and b"bodies" in a.body for a in refused)
    assert sorted(a.status for a in answers if a.status != 503) == [201] * 4 and again.status == 201
    assert max(peak) - peak[0] < 4 * 32, f"RSS grew {max(peak) - peak[0]:.0f} MiB"  # unbudgeted: 24 x 8 MiB, twice


def test_a_body_without_a_length_is_refused_when_it_outgrows_the_budget(settings: Settings) -> None:
    """Chunked: nothing is declared, so the budget is taken chunk by chunk as the body arrives."""
    settings.max_upload_bytes, settings.max_body_bytes_in_flight = 64 * MIB, 8 * MIB
    piece = bytes(MIB)
    with TestClient(create_app(settings)) as c:
        r = c.post("/v1/rigs?filename=big.glb", content=(piece for _ in range(12)))  # no Content-Length
        assert r.status_code == 503 and r.headers["retry-after"] == "2", r.text
        assert c.post("/v1/rigs?filename=small.glb", content=(piece for _ in range(2))).status_code == 422
        metrics = c.get("/metrics").text
    assert "avatar_driver_bodies_refused_total 1.0" in metrics


def test_an_uploaded_avatar_is_kept_served_to_watchers_and_erased_with_its_user(
    settings: Settings, avatars: Path
) -> None:
    """Issue 25 item 2: OBS drew the built-in head because the uploaded file was thrown away
    after its rig was built. Now the RPM avatar uploaded by a user is served back, byte for
    byte, to a watcher holding only the watch token (a Bearer header), cached by its digest,
    refused without a token, and gone when the user is erased."""
    settings.token, settings.watch_token = "full-token", "watch-token"
    full, watch = {"Authorization": "Bearer full-token"}, {"Authorization": "Bearer watch-token"}
    body = (avatars / "brunette-t.glb").read_bytes()
    with TestClient(create_app(settings)) as c:
        r = c.post("/v1/rigs?id=brunette&filename=brunette-t.glb&user_id=u-25", content=body, headers=full)
        assert r.status_code == 201, r.text
        digest = hashlib.sha256(body).hexdigest()
        assert r.json()["report"][AVATAR_REPORT_KEY] == {"bytes": len(body), "sha256": digest}
        got = c.get("/v1/rigs/brunette/avatar", headers=watch)
        assert got.status_code == 200 and got.content == body
        assert got.headers["content-type"] == "model/gltf-binary" and got.headers["etag"] == f'"{digest}"'
        assert "immutable" not in got.headers["cache-control"]
        versioned = c.get(f"/v1/rigs/brunette/avatar?v={digest[:16]}", headers=watch)
        assert versioned.content == body and "immutable" in versioned.headers["cache-control"]
        again = c.get("/v1/rigs/brunette/avatar", headers={**watch, "If-None-Match": f'"{digest}"'})
        assert again.status_code == 304 and again.content == b""
        for refused in ({}, {"Authorization": "Bearer guess"}):
            assert c.get("/v1/rigs/brunette/avatar", headers=refused).status_code == 401
        assert c.get("/v1/rigs/brunette", headers=watch).status_code == 401  # the rest stays the full token's
        assert c.delete("/v1/users/u-25", headers=full).json()["rigs"] == 1
        assert c.get("/v1/rigs/brunette/avatar", headers=watch).status_code == 404
    assert list((settings.data_dir / "rigs").glob("*")) == []


def test_built_in_and_unknown_rigs_have_no_avatar_file(settings: Settings) -> None:
    with TestClient(create_app(settings)) as c:
        for rig_id in ("arkit52", "nothing", "..calibration.sqlite3"):
            r = c.get(f"/v1/rigs/{rig_id}/avatar")
            assert r.status_code == 404 and "no stored avatar" in r.json()["detail"], rig_id
