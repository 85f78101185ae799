"""Hostile avatar files: structurally valid glTF whose numbers, indices and types lie.

The inspector must answer every one with a rig or a RigInspectError — never a crash, a read
outside a buffer, another exception or gigabytes of memory. Regressions first (each crashed
or misbehaved before the checks), then hypothesis over mutated files (10,000 cases; 1,000 in `make test-fast`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from avatar_mapping.rig import RigDefinition
from server.assets.rig_inspect import InspectLimits, RigInspectError, inspect_bytes
from tests.support.gltf import BLOB, base_gltf, glb


def inspect(data: bytes, limits: InspectLimits | None = None) -> RigDefinition:
    return inspect_bytes(data, "fuzz", limits=limits or InspectLimits())


def test_the_base_file_is_a_rig() -> None:
    rig = inspect(glb(base_gltf()))
    assert {c.name for c in rig.channels} >= {"jawOpen"} and rig.report["zero_delta_targets"] == []


@pytest.mark.parametrize(
    "mutate, message",
    [
        # a negative stride or offset handed to as_strided read outside the buffer or crashed
        (lambda d: d["bufferViews"][1].update(byteStride=-4), "byteStride -4"),
        (lambda d: d["bufferViews"][1].update(byteStride=-4000000), "byteStride"),
        (lambda d: d["accessors"][1].update(byteOffset=-36), "must not be negative"),
        (lambda d: d["bufferViews"][1].update(byteOffset=-36), "must not be negative"),
        (lambda d: d["bufferViews"][1].update(byteStride=6), "multiple of 4"),
        (lambda d: d["bufferViews"][1].update(byteStride=8), "do not fit a stride of 8"),
        (lambda d: d["bufferViews"][1].update(byteLength=3600), "outside its buffer"),
        (lambda d: d["accessors"][1].update(count=300), "runs past"),
        (lambda d: d["accessors"][1].update(count=-3), "at least 1"),
        (lambda d: d["accessors"][1].update(componentType=9999), "componentType 9999"),
        (lambda d: d["accessors"][1].update(type="MAT9"), "type 'MAT9'"),
        (lambda d: d["accessors"][1].update(bufferView=7), "bufferView 7 does not exist"),
        (lambda d: d["meshes"][0]["primitives"][0]["targets"][0].update(POSITION=99), "accessor 99 does not exist"),
        (lambda d: d["bufferViews"][1].update(buffer=5), "buffer 5 does not exist"),
        (
            lambda d: d["extensions"]["VRM"]["blendShapeMaster"]["blendShapeGroups"][0]["binds"][0].update(mesh=42),
            "malformed",
        ),
        (lambda d: d["extensions"]["VRM"]["humanoid"]["humanBones"][0].update(node=42), "malformed"),
    ],
)
def test_hostile_numbers_are_refused_with_the_rule_they_break(
    mutate: Callable[[dict[str, Any]], None], message: str
) -> None:
    doc = base_gltf()
    mutate(doc)
    with pytest.raises(RigInspectError, match=message):
        inspect(glb(doc))


def meshopt_doc(count: int, stride: int = 12, mode: str = "ATTRIBUTES") -> dict[str, Any]:
    doc = base_gltf()
    doc["extensionsUsed"] = ["EXT_meshopt_compression"]
    doc["bufferViews"][1] = {
        "buffer": 0,
        "byteOffset": 36,
        "byteLength": 36,
        "extensions": {
            "EXT_meshopt_compression": {
                "buffer": 0,
                "byteOffset": 36,
                "byteLength": 36,
                "byteStride": stride,
                "count": count,
                "mode": mode,
            }
        },
    }
    return doc


def test_a_tiny_file_cannot_make_meshopt_decode_gigabytes() -> None:
    with pytest.raises(RigInspectError, match="at most 268435456 bytes"):
        inspect(glb(meshopt_doc(50_000_000)))  # 600 MB declared by a kilobyte of JSON
    with pytest.raises(RigInspectError, match="at most 1000 bytes"):
        inspect(glb(meshopt_doc(3_000)), InspectLimits(max_decoded_bytes=1000))
    with pytest.raises(RigInspectError, match="not a valid combination"):
        inspect(glb(meshopt_doc(3, stride=3)))
    with pytest.raises(RigInspectError, match="does not decode"):
        inspect(glb(meshopt_doc(3)))  # the raw deltas are no meshopt stream
    doc = meshopt_doc(3)
    doc["bufferViews"][1]["extensions"]["EXT_meshopt_compression"]["count"] = "many"
    with pytest.raises(RigInspectError, match="count must be an integer"):
        inspect(glb(doc))


# -- hypothesis: mutate any field of the file to a hostile value ---------------------------
HOSTILE = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63),
    st.sampled_from([0, -1, 1, 2, 3, 4, 36, 72, 252, 256, 2**31]),
    st.floats(allow_nan=True),
    st.text(max_size=4),
    st.none(),
    st.booleans(),
    st.lists(st.integers(-3, 3), max_size=3),
    st.dictionaries(st.sampled_from(["a", "node", "mesh"]), st.integers(-2, 50), max_size=2),
)
PATHS = [
    ("bufferViews", 0, "byteOffset"),
    ("bufferViews", 1, "byteOffset"),
    ("bufferViews", 1, "byteLength"),
    ("bufferViews", 1, "byteStride"),
    ("bufferViews", 1, "buffer"),
    ("accessors", 1, "byteOffset"),
    ("accessors", 1, "count"),
    ("accessors", 1, "componentType"),
    ("accessors", 1, "type"),
    ("accessors", 1, "bufferView"),
    ("accessors", 1, "max"),
    ("accessors", 1, "min"),
    ("buffers", 0, "byteLength"),
    ("nodes", 1, "name"),
    ("nodes", 0, "mesh"),
    ("meshes", 0, "name"),
]


def set_path(doc: dict[str, Any], path: tuple[str | int, ...], value: object) -> None:
    target: Any = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


def sparse(doc: dict[str, Any], count: object, offset: object) -> None:
    doc["accessors"][1]["sparse"] = {
        "count": count,
        "indices": {"bufferView": 0, "componentType": 5125},
        "values": {"bufferView": 1, "byteOffset": offset},
    }


@settings(deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    edits=st.lists(st.tuples(st.sampled_from(PATHS), HOSTILE), min_size=1, max_size=4),
    meshopt=st.one_of(
        st.none(),
        st.tuples(
            st.integers(-5, 10**9), st.integers(-4, 300), st.sampled_from(["ATTRIBUTES", "TRIANGLES", "INDICES", "X"])
        ),
    ),
    sparse_edit=st.one_of(st.none(), st.tuples(HOSTILE, HOSTILE)),
    binds=st.one_of(st.none(), HOSTILE),
    blob_len=st.sampled_from([72, 40, 0, 100]),
)
def test_fuzzed_files_give_a_rig_or_a_reason(
    edits: list[tuple[tuple[str | int, ...], object]],
    meshopt: tuple[int, int, str] | None,
    sparse_edit: tuple[object, object] | None,
    binds: object,
    blob_len: int,
) -> None:
    doc = meshopt_doc(*meshopt) if meshopt is not None else base_gltf()
    for path, value in edits:
        set_path(doc, path, value)
    if sparse_edit is not None:
        sparse(doc, *sparse_edit)
    if binds is not None:
        doc["extensions"]["VRM"]["blendShapeMaster"]["blendShapeGroups"][0]["binds"] = binds
    blob = (BLOB * 2)[:blob_len]
    try:
        inspect(glb(doc, blob), InspectLimits(max_decoded_bytes=1 << 20))
    except RigInspectError:
        pass
