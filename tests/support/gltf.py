"""A minimal avatar written by hand: one triangle with a jawOpen morph target, a head bone and
a VRM 0 preset, as glTF JSON and as GLB bytes; tests mutate it into hostile files."""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np

POSITIONS = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], np.float32).tobytes()
DELTAS = np.full((3, 3), 0.25, np.float32).tobytes()
BLOB = POSITIONS + DELTAS  # 72 bytes: positions, then one morph target's deltas


def base_gltf() -> dict[str, Any]:
    """A one-triangle mesh with one morph target named jawOpen, head bone, VRM 0 preset."""
    return {
        "asset": {"version": "2.0"},
        "scene": 0,
        "scenes": [{"nodes": [0, 1]}],
        "nodes": [{"mesh": 0, "name": "Face"}, {"name": "Head"}],
        "meshes": [
            {
                "name": "Face",
                "extras": {"targetNames": ["jawOpen"]},
                "primitives": [{"attributes": {"POSITION": 0}, "targets": [{"POSITION": 1}]}],
            }
        ],
        "buffers": [{"byteLength": len(BLOB)}],
        "bufferViews": [
            {"buffer": 0, "byteOffset": 0, "byteLength": 36},
            {"buffer": 0, "byteOffset": 36, "byteLength": 36},
        ],
        "accessors": [
            {"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3"},
            {"bufferView": 1, "componentType": 5126, "count": 3, "type": "VEC3"},
        ],
        "extensions": {
            "VRM": {
                "blendShapeMaster": {
                    "blendShapeGroups": [{"presetName": "joy", "binds": [{"mesh": 0, "index": 0, "weight": 100}]}]
                },
                "humanoid": {"humanBones": [{"bone": "head", "node": 1}]},
            }
        },
    }


def glb(doc: dict[str, Any], blob: bytes = BLOB) -> bytes:
    text = json.dumps(doc).encode()
    text += b" " * (-len(text) % 4)
    blob += b"\x00" * (-len(blob) % 4)
    body = struct.pack("<I4s", len(text), b"JSON") + text + struct.pack("<I4s", len(blob), b"BIN\x00") + blob
    return struct.pack("<4sII", b"glTF", 2, 12 + len(body)) + body
