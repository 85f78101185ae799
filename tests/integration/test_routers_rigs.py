"""POST /v1/rigs: an avatar upload is inspected in the tool pool; a hostile file is a 422
with the rule it breaks, never a 500 (the inspector itself: tests/unit/test_rig_inspect*.py)."""

import base64
import json

from fastapi.testclient import TestClient

from server.app import create_app
from server.settings import Settings
from tests.support.gltf import BLOB, base_gltf, glb


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
