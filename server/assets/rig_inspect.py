"""Builds a rig definition from any GLB/glTF/VRM file (pygltflib), with a report.

Reads morph target names from every mesh (`extras.targetNames`, per mesh or per
primitive), VRM 0.x blendShapeMaster and VRM 1.0 expressions, and bones from VRM
humanoid data or by name. Decodes morph target deltas (including EXT_meshopt_compression
and quantised data) to report targets that do nothing. Matching and retargeting rules
are in avatar_mapping/retarget.py.

Files come from anyone who can upload: every buffer view and accessor is checked against
the glTF 2.0 rules (offsets >= 0, strides >= the element and a multiple of 4, ranges inside
their buffer, counts >= 1, known component types and types) before a byte is read, and what
meshopt may decode is bounded (`InspectLimits`). A file that breaks a rule is a
RigInspectError naming it; any other malformation found on the way is one too.
"""

from __future__ import annotations

import base64
import re
import struct
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import meshopt
import numpy as np
from pygltflib import GLTF2

from avatar_mapping.retarget import expression_row, match_arkit, match_bones, match_viseme, retarget_sources
from avatar_mapping.rig import EyeLimits, RigDefinition
from avatar_mapping.vocabulary import ARKIT_BLENDSHAPES, VISEMES

_COMPONENTS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}
_DTYPES = {5120: np.int8, 5121: np.uint8, 5122: np.int16, 5123: np.uint16, 5125: np.uint32, 5126: np.float32}
_VRM0_BONES = {
    "head": "head",
    "neck": "neck",
    "leftEye": "left_eye",
    "rightEye": "right_eye",
    "spine": "spine",
    "chest": "chest",
}


class RigInspectError(ValueError):
    """A file that is not a usable glTF/GLB/VRM, with the reason."""


# What pygltflib raises on JSON whose fields have the wrong kind or size (it converts each
# field to its declared type: "inf" as an integer overflows, a deep nest recurses).
_PARSE_ERRORS = (
    ValueError,
    KeyError,
    TypeError,
    IndexError,
    AttributeError,
    OverflowError,
    RecursionError,
    struct.error,
)


@dataclass(frozen=True)
class InspectLimits:
    # Bytes that EXT_meshopt_compression may decode for one file, all views together (a
    # kilobyte of JSON can declare gigabytes).
    max_decoded_bytes: int = 256 << 20


@dataclass(frozen=True)
class Target:
    mesh: str
    mesh_index: int
    index: int
    name: str


def load_gltf(data: bytes) -> GLTF2:
    """Parse GLB or glTF JSON bytes, or raise RigInspectError."""
    if data[:4] == b"glTF":
        version = struct.unpack_from("<I", data, 4)[0] if len(data) >= 8 else 0
        if version != 2:
            raise RigInspectError(f"GLB version {version} is not supported (glTF 2.0 only)")
        try:
            return GLTF2.load_from_bytes(data)
        except _PARSE_ERRORS as e:
            raise RigInspectError(f"the GLB file is damaged: {type(e).__name__}: {e}") from None
    if data.lstrip()[:1] == b"{":
        try:
            return GLTF2.from_json(data.decode("utf-8"))
        except _PARSE_ERRORS as e:
            raise RigInspectError(f"the glTF JSON is not valid: {type(e).__name__}: {e}") from None
    raise RigInspectError("not a glTF file: expected GLB (starting with 'glTF') or glTF JSON")


def inspect_file(path: Path, rig_id: str | None = None, limits: InspectLimits = InspectLimits()) -> RigDefinition:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise RigInspectError(f"cannot read {path}: {e.strerror}") from None
    return inspect_bytes(
        data, rig_id or rig_id_from_name(path.stem), source=path.name, base_dir=path.parent, limits=limits
    )


def inspect_bytes(
    data: bytes,
    rig_id: str,
    source: str = "upload",
    base_dir: Path | None = None,
    limits: InspectLimits = InspectLimits(),
) -> RigDefinition:
    gltf = load_gltf(data)
    if not gltf.meshes:
        raise RigInspectError("the file has no meshes")
    try:
        return _Inspector(gltf, base_dir, limits).rig(rig_id, source)
    except RecursionError:
        raise RigInspectError("the file is nested too deeply to read") from None
    except (KeyError, IndexError, TypeError, AttributeError, ValueError) as e:
        if isinstance(e, RigInspectError):
            raise
        # A reference or a field of the wrong kind somewhere the rules above do not reach.
        raise RigInspectError(f"the file is malformed: {type(e).__name__}: {e}") from None


def rig_id_from_name(name: str) -> str:
    """A valid rig id from a file name or a user's choice: letters, digits, '-' and '_'."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")[:64] or "avatar"


class _Inspector:
    def __init__(self, gltf: GLTF2, base_dir: Path | None, limits: InspectLimits = InspectLimits()):
        self.g = gltf
        self.base_dir = base_dir
        self.limits = limits
        self._buffers: dict[int, bytes] = {}
        self._views: dict[int, bytes] = {}
        self._decoded = 0
        self.ext = gltf.extensions or {}

    # -- morph targets ----------------------------------------------------------------
    def targets(self) -> list[Target]:
        out = []
        for mi, mesh in enumerate(self.g.meshes):
            n = max((len(p.targets or []) for p in mesh.primitives), default=0)
            names = (mesh.extras or {}).get("targetNames") or next(
                ((p.extras or {}).get("targetNames") for p in mesh.primitives if (p.extras or {}).get("targetNames")),
                None,
            )
            names = list(names or [])
            mesh_name = mesh.name or f"mesh{mi}"
            for i in range(n):
                out.append(Target(mesh_name, mi, i, names[i] if i < len(names) else f"{mesh_name}_target{i}"))
        return out

    def zero_delta(self, t: Target) -> bool:
        """True when every delta of the target is zero in every primitive."""
        for prim in self.g.meshes[t.mesh_index].primitives:
            targets = prim.targets or []
            if t.index >= len(targets):
                continue
            for attr in ("POSITION", "NORMAL"):
                acc = (
                    targets[t.index].get(attr)
                    if isinstance(targets[t.index], dict)
                    else getattr(targets[t.index], attr, None)
                )
                if acc is not None and self._accessor_nonzero(acc):
                    return False
        return True

    def _accessor_nonzero(self, index: int) -> bool:
        a = _item(self.g.accessors, index, "accessor")
        dtype, components = _element_type(a, index)
        if a.sparse is not None and a.sparse.count:
            sparse_count = _count(a.sparse.count, f"accessor {index} sparse count")
            if sparse_count > a.count:
                raise RigInspectError(f"accessor {index}: sparse count {sparse_count} is over its count {a.count}")
            values = self._read(
                a.sparse.values.bufferView,
                a.sparse.values.byteOffset,
                dtype,
                components,
                sparse_count,
                f"accessor {index} sparse values",
                sparse=True,
            )
            if np.any(values != 0):
                return True
        if a.bufferView is None:
            return False
        if a.max and a.min and not any(a.max) and not any(a.min):  # pygltflib gives [] when absent
            return False
        values = self._read(a.bufferView, a.byteOffset, dtype, components, a.count, f"accessor {index}")
        return bool(np.any(np.abs(values.astype(np.float64)) > (1e-7 if a.componentType == 5126 else 0)))

    def _read(
        self,
        view_index: Any,
        offset: Any,
        dtype: np.dtype,
        components: int,
        count: Any,
        what: str,
        sparse: bool = False,
    ) -> np.ndarray:
        """``count`` elements from a buffer view, checked to lie inside it; a copy."""
        view = _item(self.g.bufferViews, view_index, "bufferView")
        raw = self._view_bytes(view_index)
        offset = _offset(offset, f"{what} byteOffset")
        count = _count(count, f"{what} count")
        element = dtype.itemsize * components
        stride = None if sparse else view.byteStride  # sparse values are tightly packed
        if stride is not None:
            stride = _int(stride, f"bufferView {view_index} byteStride")
            if not 4 <= stride <= 252 or stride % 4:
                raise RigInspectError(
                    f"bufferView {view_index}: byteStride {stride} is not a multiple of 4 from 4 to 252"
                )
            if stride < element:
                raise RigInspectError(f"{what}: elements of {element} bytes do not fit a stride of {stride}")
        if offset % dtype.itemsize:
            raise RigInspectError(f"{what}: byteOffset {offset} is not a multiple of its component size")
        stride = stride or element
        end = offset + stride * (count - 1) + element
        if end > len(raw):
            raise RigInspectError(f"{what} runs past its bufferView {view_index} ({end} > {len(raw)} bytes)")
        region = np.frombuffer(raw, dtype=np.uint8, count=end - offset, offset=offset)
        rows = np.concatenate([region, np.zeros(stride - element, np.uint8)]).reshape(count, stride)[:, :element]
        return np.ascontiguousarray(rows).view(dtype.newbyteorder("<")).reshape(count, components)

    def _view_bytes(self, index: int) -> bytes:
        """A buffer view's bytes, checked to lie inside its buffer (decoded when meshopt-compressed)."""
        if index in self._views:
            return self._views[index]
        view = self.g.bufferViews[index]
        meshopt_ext = (view.extensions or {}).get("EXT_meshopt_compression")
        if meshopt_ext:
            if not isinstance(meshopt_ext, dict):
                raise RigInspectError(f"bufferView {index}: EXT_meshopt_compression must be an object")
            data = self._slice(
                meshopt_ext.get("buffer"),
                meshopt_ext.get("byteOffset", 0),
                meshopt_ext.get("byteLength"),
                f"bufferView {index} (meshopt)",
            )
            count = _count(meshopt_ext.get("count"), f"bufferView {index} meshopt count")
            stride = _int(meshopt_ext.get("byteStride"), f"bufferView {index} meshopt byteStride")
            mode, flt = meshopt_ext.get("mode", "ATTRIBUTES"), meshopt_ext.get("filter", "NONE")
            if mode not in _MESHOPT_STRIDES or not _MESHOPT_STRIDES[mode](stride) or flt not in _MESHOPT_FILTERS:
                raise RigInspectError(
                    f"bufferView {index}: meshopt mode {mode!r}, filter {flt!r} and byteStride "
                    f"{stride} are not a valid combination"
                )
            size = count * stride
            if self._decoded + size > self.limits.max_decoded_bytes:
                raise RigInspectError(
                    f"bufferView {index}: meshopt would decode {size} bytes; this file may "
                    f"decode at most {self.limits.max_decoded_bytes} bytes in all"
                )
            self._decoded += size
            try:
                decoded = meshopt.decode_gltf_buffer(data, count, stride, mode, None if flt == "NONE" else flt)
            except (RuntimeError, ValueError) as e:
                raise RigInspectError(f"bufferView {index}: meshopt data does not decode: {e}") from None
            out = np.asarray(decoded).tobytes()
        else:
            out = self._slice(view.buffer, view.byteOffset, view.byteLength, f"bufferView {index}")
        self._views[index] = out
        return out

    def _slice(self, buffer: Any, offset: Any, length: Any, what: str) -> bytes:
        buf = self._buffer(_int(buffer, f"{what} buffer"))
        start = _offset(offset, f"{what} byteOffset")
        length = _count(length, f"{what} byteLength")
        if start + length > len(buf):
            raise RigInspectError(f"{what}: bytes {start}..{start + length} lie outside its buffer of {len(buf)}")
        return buf[start : start + length]

    def _buffer(self, index: int) -> bytes:
        if index not in self._buffers:
            b = _item(self.g.buffers, index, "buffer")
            if b.uri is None:
                blob = self.g.binary_blob()
                if blob is None:
                    raise RigInspectError(f"buffer {index} has no data")
                self._buffers[index] = blob
            elif b.uri.startswith("data:"):
                self._buffers[index] = base64.b64decode(b.uri.split(",", 1)[1])
            elif self.base_dir is not None:
                try:
                    self._buffers[index] = (self.base_dir / b.uri).read_bytes()
                except OSError as e:
                    raise RigInspectError(f"buffer file {b.uri!r}: {e.strerror}") from None
            else:
                raise RigInspectError(f"buffer {index} refers to an external file {b.uri!r}; upload a GLB instead")
        return self._buffers[index]

    # -- VRM ----------------------------------------------------------------------------
    def vrm_expressions(self) -> dict[str, list[tuple[int, int, float]]]:
        """Expression name -> [(mesh index, morph index, weight 0..1)] from VRM 0.x or 1.0."""
        out: dict[str, list[tuple[int, int, float]]] = {}
        vrm0 = self.ext.get("VRM", {}).get("blendShapeMaster", {})
        for group in vrm0.get("blendShapeGroups", []) or []:
            name = group.get("presetName") or group.get("name")
            if name and name != "unknown":
                out[name] = [
                    (b["mesh"], b["index"], float(b.get("weight", 100)) / 100.0) for b in group.get("binds", [])
                ]
        vrm1 = self.ext.get("VRMC_vrm", {}).get("expressions", {})
        for kind in ("preset", "custom"):
            for name, expr in (vrm1.get(kind) or {}).items():
                binds = []
                for b in expr.get("morphTargetBinds", []) or []:
                    mesh = self.g.nodes[b["node"]].mesh if b.get("node") is not None else None
                    if mesh is not None:
                        binds.append((mesh, b["index"], float(b.get("weight", 1.0))))
                out[name] = binds
        return out

    def bones(self) -> dict[str, str]:
        nodes = self.g.nodes
        humanoid0 = self.ext.get("VRM", {}).get("humanoid", {}).get("humanBones")
        humanoid1 = self.ext.get("VRMC_vrm", {}).get("humanoid", {}).get("humanBones")
        found: dict[str, int] = {}
        if humanoid0:
            for b in humanoid0:
                if b.get("bone") in _VRM0_BONES and b.get("node") is not None:
                    found[_VRM0_BONES[b["bone"]]] = b["node"]
        elif humanoid1:
            for name, b in humanoid1.items():
                if name in _VRM0_BONES and b.get("node") is not None:
                    found[_VRM0_BONES[name]] = b["node"]
            if "chest" not in found and "upperChest" in humanoid1:
                found["chest"] = humanoid1["upperChest"]["node"]
        joints = {j for s in (self.g.skins or []) for j in s.joints}
        candidates = {i: n.name for i, n in enumerate(nodes) if n.name and (not joints or i in joints)}
        for bone, node in match_bones(candidates).items():
            found.setdefault(bone, node)
        return {bone: nodes[i].name or f"node{i}" for bone, i in found.items()}

    def eye_limits(self) -> tuple[EyeLimits, list[str]]:
        """The eyes' range from VRM 0.x `firstPerson.lookAt*` curves or VRM 1.0 `lookAt.rangeMap*`
        (bone type: the output range in degrees bounds the eye bones; blend shape/expression type:
        the output weight bounds the eyeLook* morphs), else the conservative defaults; with the
        fields it could not use (a range that is not a number from 0 to 90 keeps its default)."""
        defaults = EyeLimits()
        vrm0 = self.ext.get("VRM", {}).get("firstPerson") if isinstance(self.ext.get("VRM"), dict) else None
        vrm1 = self.ext.get("VRMC_vrm", {}).get("lookAt") if isinstance(self.ext.get("VRMC_vrm"), dict) else None
        if isinstance(vrm1, dict) and any(k.startswith("rangeMap") for k in vrm1):
            source, kind = "vrm1", str(vrm1.get("type", "bone")).lower()
            fields = {f: (vrm1.get(key), "outputScale") for f, key in _VRM1_LOOK_AT.items()}
        elif isinstance(vrm0, dict) and any(k.startswith("lookAt") for k in vrm0):
            source, kind = "vrm0", str(vrm0.get("lookAtTypeName", "Bone")).lower()
            fields = {f: (vrm0.get(key), "yRange") for f, key in _VRM0_LOOK_AT.items()}
        else:
            return defaults, []
        ignored: list[str] = []
        ranges: dict[str, float] = {}
        for name, (curve, key) in fields.items():
            value = curve.get(key) if isinstance(curve, dict) else None
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 90.0:
                ignored.append(f"{source} {name} {key}={value!r}")
                continue
            ranges[name] = float(value)
        if kind == "bone":
            return EyeLimits(**{**defaults.to_dict(), **ranges, "source": source}), ignored
        # Expression/blend shape lookAt: the ranges are morph weights (0..1), not angles.
        weights = [min(v, 1.0) for v in ranges.values()]
        look = min(weights) if weights else defaults.look_weight_max
        return EyeLimits(**{**defaults.to_dict(), "look_weight_max": look, "source": source}), ignored

    # -- the rig ------------------------------------------------------------------------
    def rig(self, rig_id: str, source: str) -> RigDefinition:
        targets = self.targets()
        by_name: dict[str, list[Target]] = defaultdict(list)
        for t in targets:
            by_name[t.name].append(t)
        # A name does nothing only when every mesh's copy of it does nothing.
        zero = sorted(n for n, ts in by_name.items() if all(self.zero_delta(t) for t in ts))
        arkit_matches = {n: match_arkit(n) for n in by_name}
        arkit = {n: a for n, a in arkit_matches.items() if a}
        viseme_matches = {n: match_viseme(n) for n in by_name if n not in arkit}
        visemes = {n: v for n, v in viseme_matches.items() if v}
        working = {a for n, a in arkit.items() if n not in zero} | {
            f"viseme_{v}" for n, v in visemes.items() if n not in zero
        }

        def target_list(ts: list[Target]) -> list[dict[str, Any]]:
            return [{"mesh": t.mesh, "index": t.index} for t in ts]

        channels: list[dict[str, Any]] = []
        for name, a in arkit.items():
            if name not in zero:  # a target that does nothing costs bandwidth and shows nothing
                channels.append({"name": name, "from": {a: 1.0}, "targets": target_list(by_name[name])})
        for name, v in visemes.items():
            if name not in zero:
                channels.append({"name": name, "from": {f"viseme_{v}": 1.0}, "targets": target_list(by_name[name])})
        bound: set[tuple[int, int]] = set()
        expressions_mapped: list[str] = []
        covered: list[str] = []  # preset-like targets whose motion working ARKit/viseme targets already show
        for expr, binds in self.vrm_expressions().items():
            row = expression_row(expr)
            if row is None or not binds:
                continue
            sources = retarget_sources(row, working)
            if not sources:
                continue
            bound.update((m, i) for m, i, _ in binds)
            channels.append(
                {
                    "name": expr,
                    "from": sources,
                    "targets": [
                        {"mesh": self.g.meshes[m].name or f"mesh{m}", "index": i, "weight": w} for m, i, w in binds
                    ],
                }
            )
            expressions_mapped.append(expr)
        for name, ts in by_name.items():
            if name in arkit or name in visemes:
                continue
            row = expression_row(name)
            free = [t for t in ts if (t.mesh_index, t.index) not in bound]
            if row is None or not free or name in zero:
                continue
            sources = retarget_sources(row, working)
            if sources:
                channels.append({"name": name, "from": sources, "targets": target_list(free)})
                expressions_mapped.append(name)
            else:
                covered.append(name)
        driven = {c["name"] for c in channels}
        bones = self.bones()
        eyes, eyes_ignored = self.eye_limits()
        report = {
            "source": source,
            "meshes": [
                {"name": m.name, "targets": max((len(p.targets or []) for p in m.primitives), default=0)}
                for m in self.g.meshes
            ],
            "arkit": {
                "mapped": len(set(arkit.values())),
                "missing": [n for n in ARKIT_BLENDSHAPES if n not in set(arkit.values())],
                "working": len({a for a in arkit.values() if a in working}),
            },
            "visemes": {
                "mapped": len(set(visemes.values())),
                "missing": [v for v in VISEMES if v not in set(visemes.values())],
                "working": len({v for v in visemes.values() if f"viseme_{v}" in working}),
            },
            "expressions": sorted(expressions_mapped),
            "covered_by_arkit_or_visemes": sorted(covered),
            "bones": {
                "mapped": bones,
                "missing": [b for b in ("head", "neck", "left_eye", "right_eye", "spine", "chest") if b not in bones],
            },
            "unmapped_targets": sorted(
                n
                for n in by_name
                if n not in driven
                and n not in covered
                and n not in zero
                and not all((t.mesh_index, t.index) in bound for t in by_name[n])
            ),
            "zero_delta_targets": zero,
            "eye_limits": {"source": eyes.source, "ignored": eyes_ignored},
        }
        if not channels:
            raise RigInspectError(
                f"no usable morph targets: found {len(by_name)} target names, none of them "
                "ARKit, viseme, VRM or VRoid names"
            )
        return RigDefinition.from_dict(
            {
                "id": rig_id,
                "name": f"{rig_id} (from {source})",
                "description": f"Built by `avatar-driver rig inspect` from {source}.",
                "channels": channels,
                "bones": bones,
                "neck_share": 0.4,
                "eye_limits": eyes.to_dict(),
                "report": report,
            }
        )


# EyeLimits field -> the VRM lookAt range that bounds it.
_VRM0_LOOK_AT = {
    "yaw_in": "lookAtHorizontalInner",
    "yaw_out": "lookAtHorizontalOuter",
    "down": "lookAtVerticalDown",
    "up": "lookAtVerticalUp",
}
_VRM1_LOOK_AT = {
    "yaw_in": "rangeMapHorizontalInner",
    "yaw_out": "rangeMapHorizontalOuter",
    "down": "rangeMapVerticalDown",
    "up": "rangeMapVerticalUp",
}

_MESHOPT_STRIDES: dict[str, Callable[[int], bool]] = {
    "ATTRIBUTES": lambda s: 4 <= s <= 256 and s % 4 == 0,
    "TRIANGLES": lambda s: s in (2, 4),
    "INDICES": lambda s: s in (2, 4),
}
_MESHOPT_FILTERS = ("NONE", "OCTAHEDRAL", "QUATERNION", "EXPONENTIAL")


def _int(v: Any, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise RigInspectError(f"{what} must be an integer, got {v!r}")
    return v


def _offset(v: Any, what: str) -> int:
    n = _int(0 if v is None else v, what)
    if n < 0:
        raise RigInspectError(f"{what} must not be negative, got {n}")
    return n


def _count(v: Any, what: str) -> int:
    n = _int(v, what)
    if n < 1:
        raise RigInspectError(f"{what} must be at least 1, got {n}")
    return n


def _item(items: Sequence[Any] | None, index: Any, what: str) -> Any:
    i = _int(index, f"{what} index")
    if not items or not 0 <= i < len(items):
        raise RigInspectError(f"{what} {i} does not exist")
    return items[i]


def _element_type(a: Any, index: int) -> tuple[np.dtype, int]:
    if a.componentType not in _DTYPES:
        raise RigInspectError(f"accessor {index}: componentType {a.componentType!r} is not one of {sorted(_DTYPES)}")
    if a.type not in _COMPONENTS:
        raise RigInspectError(f"accessor {index}: type {a.type!r} is not one of {sorted(_COMPONENTS)}")
    return np.dtype(_DTYPES[a.componentType]), _COMPONENTS[a.type]


def summary(rig: RigDefinition) -> str:
    """A short human-readable account of an inspection."""
    r, eyes = rig.report, rig.eye_limits
    lines = [
        f"rig {rig.id!r} from {r.get('source')}: {len(rig.channels)} channels",
        f"  ARKit blendshapes: {r['arkit']['mapped']}/52"
        + (
            f" (missing: {', '.join(r['arkit']['missing'][:8])}{'…' if len(r['arkit']['missing']) > 8 else ''})"
            if r["arkit"]["missing"]
            else ""
        ),
        f"  visemes: {r['visemes']['mapped']}/15",
        f"  working (non-zero) targets: {r['arkit']['working']} ARKit, {r['visemes']['working']} visemes",
        f"  expressions and presets: {', '.join(r['expressions']) or 'none'}",
        f"  presets shown by ARKit/viseme targets instead: {len(r['covered_by_arkit_or_visemes'])}",
        f"  bones: {', '.join(f'{b}={n}' for b, n in r['bones']['mapped'].items()) or 'none'}"
        + (f" (missing: {', '.join(r['bones']['missing'])})" if r["bones"]["missing"] else ""),
        f"  unmapped morph targets: {len(r['unmapped_targets'])}",
        f"  morph targets that do nothing (all deltas zero): {', '.join(r['zero_delta_targets']) or 'none'}",
        f"  eye range ({eyes.source}): {eyes.yaw_in:g}° in, {eyes.yaw_out:g}° out, {eyes.up:g}° up, "
        f"{eyes.down:g}° down, eyeLook weights ≤ {eyes.look_weight_max:g}",
    ]
    return "\n".join(lines)
