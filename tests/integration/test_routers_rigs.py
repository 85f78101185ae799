"""POST /v1/rigs: an avatar upload is inspected in the tool pool; a hostile file is a 422
with the rule it breaks, never a 500 (the inspector itself: tests/unit/test_rig_inspect*.py)."""

import base64
import json
import threading

from fastapi.testclient import TestClient

from server.app import create_app
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
