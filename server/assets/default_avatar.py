"""Builds the product's own avatar: a stylised head GLB anyone may use and redistribute.

Procedural geometry (numpy) written with pygltflib: head, brows, eyelids, eyeballs, lips,
mouth cavity, teeth and tongue, with all 52 ARKit morph targets and the 15 `viseme_*`
targets (as mixes of the ARKit mouth shapes, from the strategies' viseme table), and the
nodes Neck > Head > LeftEye/RightEye. Each channel moves the part its name says; a test
checks every one of them moves something. Units: metres, +Y up, +Z forward (glTF).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pygltflib

from avatar_mapping.strategies import VISEME_ARKIT
from avatar_mapping.vocabulary import ARKIT_BLENDSHAPES, VISEMES

TARGET_NAMES = list(ARKIT_BLENDSHAPES) + [f"viseme_{v}" for v in VISEMES]
SKIN, BROW, LIP, MOUTH, TEETH, TONGUE = (0.93, 0.74, 0.62), (0.25, 0.16, 0.1), (0.78, 0.36, 0.36), \
    (0.25, 0.05, 0.07), (0.97, 0.96, 0.92), (0.85, 0.4, 0.45)
EYE_X, EYE_Y, EYE_Z, EYE_R = 0.030, 0.022, 0.066, 0.0125
MOUTH_Y, MOUTH_Z = -0.040, 0.078


@dataclass
class Part:
    """One mesh: positions, colours, triangles and per-target position deltas."""

    name: str
    positions: np.ndarray
    colors: np.ndarray
    indices: np.ndarray
    deltas: dict[str, np.ndarray] = field(default_factory=dict)

    def morph(self, name: str, delta: np.ndarray) -> None:
        self.deltas[name] = self.deltas.get(name, 0.0) + delta


def _sphere(rx: float, ry: float, rz: float, centre=(0.0, 0.0, 0.0), rings=24, segments=32,
            theta=(0.0, math.pi)) -> tuple[np.ndarray, np.ndarray]:
    """Ellipsoid (or a band of it, theta = polar range from +Y) with +Z as the front."""
    t = np.linspace(theta[0], theta[1], rings + 1)
    p = np.linspace(-math.pi, math.pi, segments + 1)
    tt, pp = np.meshgrid(t, p, indexing="ij")
    pos = np.stack([rx * np.sin(tt) * np.sin(pp), ry * np.cos(tt), rz * np.sin(tt) * np.cos(pp)], -1).reshape(-1, 3)
    pos += np.array(centre)
    idx = []
    for i in range(rings):
        for j in range(segments):
            a, b = i * (segments + 1) + j, (i + 1) * (segments + 1) + j
            idx += [a, b, a + 1, a + 1, b, b + 1]
    return pos.astype(np.float32), np.array(idx, dtype=np.uint32)


def _bump(pos: np.ndarray, centre, radius: float) -> np.ndarray:
    """Smooth 0..1 falloff around a point (for localised morphs)."""
    d = np.linalg.norm((pos - np.array(centre)) / np.array(radius), axis=1)
    return np.clip(1.0 - d * d, 0.0, 1.0)[:, None] ** 2


def _side(pos: np.ndarray, left: bool) -> np.ndarray:
    """Weight of the subject's left (+X) or right (-X) half, soft across the middle."""
    s = np.clip(pos[:, 0] / 0.01, -1, 1) * 0.5 + 0.5
    return (s if left else 1 - s)[:, None]


def _head() -> Part:
    pos, idx = _sphere(0.075, 0.095, 0.085, (0, 0.01, 0))
    colors = np.tile(SKIN, (len(pos), 1))
    head = Part("Head", pos, colors, idx)
    jaw = np.clip((MOUTH_Y + 0.005 - pos[:, 1]) / 0.04, 0, 1)[:, None] * (pos[:, 2] > -0.02)[:, None]
    head.morph("jawOpen", jaw * np.array([0, -0.028, -0.004]))
    head.morph("jawForward", jaw * np.array([0, 0, 0.012]))
    for name, sign in (("jawLeft", 1), ("jawRight", -1)):
        head.morph(name, jaw * np.array([0.012 * sign, 0, 0]))
    for left, suffix in ((True, "Left"), (False, "Right")):
        sx = 1 if left else -1
        cheek = _bump(pos, (sx * 0.045, -0.02, 0.06), (0.03, 0.03, 0.04))
        head.morph("cheekPuff", cheek * np.array([sx * 0.012, 0, 0.008]))
        head.morph(f"cheekSquint{suffix}", _bump(pos, (sx * 0.038, 0.0, 0.07), (0.025, 0.02, 0.03))
                   * np.array([0, 0.007, 0.004]))
        head.morph(f"noseSneer{suffix}", _bump(pos, (sx * 0.012, -0.005, 0.088), (0.014, 0.014, 0.02))
                   * np.array([0, 0.006, 0.002]))
        head.morph(f"mouthDimple{suffix}", _bump(pos, (sx * 0.034, MOUTH_Y, 0.07), (0.012, 0.012, 0.02))
                   * np.array([0, 0, -0.005]))
    # nose: a bump on the front of the face; eye sockets so the eyes show
    nose = _bump(pos, (0, -0.005, 0.09), (0.014, 0.025, 0.03))
    shaped = pos + nose[:, 0:1] * np.array([0, 0, 0.016])
    for sx in (1, -1):
        socket = _bump(pos, (sx * EYE_X, EYE_Y, 0.08), (0.022, 0.017, 0.03))
        shaped -= socket[:, 0:1] * np.array([0, 0, 0.016])
    head.positions = shaped.astype(np.float32)
    return head


def _brow(left: bool) -> Part:
    sx = 1 if left else -1
    x = np.linspace(0.012, 0.05, 8) * sx
    pos, idx = [], []
    for i, xi in enumerate(x):
        y = EYE_Y + 0.024 + 0.004 * math.sin((abs(xi) - 0.012) / 0.038 * math.pi)
        z = 0.083 - 25 * (abs(xi) - 0.02) ** 2
        pos += [(xi, y + 0.0025, z), (xi, y - 0.0025, z)]
        if i:
            a = 2 * (i - 1)
            idx += [a, a + 1, a + 2, a + 2, a + 1, a + 3] if left else [a, a + 2, a + 1, a + 2, a + 3, a + 1]
    pos = np.array(pos, np.float32)
    suffix = "Left" if left else "Right"
    part = Part(f"Brow{suffix}", pos, np.tile(BROW, (len(pos), 1)), np.array(idx, np.uint32))
    inner = np.clip(1 - (np.abs(pos[:, 0]) - 0.012) / 0.038, 0, 1)[:, None]
    part.morph(f"browDown{suffix}", np.array([0, -0.006, 0.001]) + inner * np.array([-sx * 0.004, -0.003, 0]))
    part.morph("browInnerUp", inner * np.array([0, 0.009, 0]))
    part.morph(f"browOuterUp{suffix}", (1 - inner) * np.array([0, 0.009, 0]))
    return part


def _eyeball(left: bool) -> Part:
    """Around its own centre (the LeftEye/RightEye node); the iris faces +Z."""
    pos, idx = _sphere(EYE_R, EYE_R, EYE_R)
    front = pos[:, 2] / EYE_R
    colors = np.where((front > 0.93)[:, None], (0.05, 0.05, 0.07),
                      np.where((front > 0.72)[:, None], (0.25, 0.45, 0.75), (0.97, 0.97, 0.97)))
    suffix = "Left" if left else "Right"
    part = Part(f"Eye{suffix}", pos, colors.astype(np.float32), idx)

    def turned(yaw_deg: float, pitch_deg: float) -> np.ndarray:
        y, p = math.radians(yaw_deg), math.radians(pitch_deg)
        ry = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
        rx = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
        return pos @ (ry @ rx).T - pos

    # Yaw toward the subject's left is +; "In" of the left eye is toward the nose (-X).
    out_sign = 1 if left else -1
    part.morph(f"eyeLookOut{suffix}", turned(25 * out_sign, 0))
    part.morph(f"eyeLookIn{suffix}", turned(-25 * out_sign, 0))
    part.morph(f"eyeLookUp{suffix}", turned(0, -20))
    part.morph(f"eyeLookDown{suffix}", turned(0, 20))
    return part


def _eyelids(left: bool) -> Part:
    """Upper and lower lid shells just outside the eyeball, in head space."""
    sx = 1 if left else -1
    centre = np.array([sx * EYE_X, EYE_Y, EYE_Z])
    r = EYE_R * 1.12
    up, up_idx = _sphere(r, r, r, centre, rings=8, segments=16, theta=(0.0, 0.42 * math.pi))
    lo, lo_idx = _sphere(r, r, r, centre, rings=6, segments=16, theta=(0.72 * math.pi, math.pi))
    pos = np.vstack([up, lo])
    idx = np.concatenate([up_idx, lo_idx + len(up)])
    suffix = "Left" if left else "Right"
    part = Part(f"Eyelids{suffix}", pos, np.tile(SKIN, (len(pos), 1)).astype(np.float32), idx)
    n_up = len(up)
    rel = pos - centre
    polar = np.arccos(np.clip(rel[:, 1] / r, -1, 1))
    is_up = np.arange(len(pos)) < n_up

    def lid_to(target_polar_upper: float | None, target_polar_lower: float | None) -> np.ndarray:
        """Move each lid's edge to a new polar angle (rest: upper 0.42 pi, lower 0.72 pi)."""
        new_polar = polar.copy()
        if target_polar_upper is not None:
            new_polar[is_up] = polar[is_up] / (0.42 * math.pi) * target_polar_upper
        if target_polar_lower is not None:
            span = math.pi - 0.72 * math.pi
            new_polar[~is_up] = math.pi - (math.pi - polar[~is_up]) / span * (math.pi - target_polar_lower)
        horiz = np.linalg.norm(rel[:, [0, 2]], axis=1)
        scale = np.where(horiz > 1e-9, r * np.sin(new_polar) / np.maximum(horiz, 1e-9), 0)
        moved = np.stack([rel[:, 0] * scale, r * np.cos(new_polar), rel[:, 2] * scale], 1)
        return moved - rel

    part.morph(f"eyeBlink{suffix}", lid_to(0.70 * math.pi, None))
    part.morph(f"eyeSquint{suffix}", lid_to(0.50 * math.pi, 0.64 * math.pi))
    part.morph(f"eyeWide{suffix}", lid_to(0.30 * math.pi, 0.78 * math.pi))
    part.morph(f"eyeLookUp{suffix}", lid_to(0.36 * math.pi, None))
    part.morph(f"eyeLookDown{suffix}", lid_to(0.52 * math.pi, 0.76 * math.pi))
    out_sign = 1 if left else -1
    part.morph(f"eyeLookOut{suffix}", np.tile([0.0015 * out_sign, 0, 0], (len(pos), 1)))
    part.morph(f"eyeLookIn{suffix}", np.tile([-0.0015 * out_sign, 0, 0], (len(pos), 1)))
    return part


def _lips() -> Part:
    """A ring of lips around the mouth opening; upper lip = vertices with y above centre."""
    segments, tube = 40, 8
    pos, idx = [], []
    for i in range(segments):
        a = 2 * math.pi * i / segments
        cx, cy = 0.024 * math.cos(a), 0.008 * math.sin(a)
        for j in range(tube):
            b = 2 * math.pi * j / tube
            rr = 0.0035 + 0.0015 * abs(math.sin(a))  # fuller in the middle
            pos.append((cx * (1 + rr * math.cos(b) / 0.024), MOUTH_Y + cy + rr * math.cos(b) * math.sin(a) * 0.3
                        + rr * math.sin(b) * 0.2, MOUTH_Z + rr * math.sin(b)))
    for i in range(segments):
        for j in range(tube):
            a, b = i * tube + j, ((i + 1) % segments) * tube + j
            c, d = i * tube + (j + 1) % tube, ((i + 1) % segments) * tube + (j + 1) % tube
            idx += [a, b, c, c, b, d]
    pos = np.array(pos, np.float32)
    part = Part("Lips", pos, np.tile(LIP, (len(pos), 1)).astype(np.float32), np.array(idx, np.uint32))
    _mouth_morphs(part)
    return part


def _mouth_morphs(part: Part, inside: bool = False) -> None:
    """The ARKit mouth shapes, shared by lips and the mouth cavity."""
    pos = part.positions
    rel = pos - np.array([0, MOUTH_Y, MOUTH_Z])
    upper = np.clip(rel[:, 1] / 0.006 + 0.5, 0, 1)[:, None]
    lower = 1 - upper
    corner = np.clip(np.abs(rel[:, 0]) / 0.024, 0, 1)[:, None] ** 2
    middle = 1 - corner
    left, right = _side(pos, True), _side(pos, False)
    x = rel[:, 0:1]
    m = part.morph
    m("jawOpen", lower * np.array([0, -0.026, -0.004]))
    m("mouthClose", lower * np.array([0, 0.024, 0.003]) * (0 if inside else 1))
    m("jawForward", lower * np.array([0, 0, 0.012]))
    m("jawLeft", lower * np.array([0.012, 0, 0]))
    m("jawRight", lower * np.array([-0.012, 0, 0]))
    m("mouthFunnel", -x * np.array([0.35, 0, 0]) + middle * np.array([0, 0, 0.008])
      + (upper - lower) * np.array([0, 0.004, 0]))
    m("mouthPucker", -x * np.array([0.5, 0, 0]) + np.array([0, 0, 0.012]) * (1 - corner * 0.5))
    m("mouthLeft", np.tile([0.012, 0, 0], (len(pos), 1)))
    m("mouthRight", np.tile([-0.012, 0, 0], (len(pos), 1)))
    for side, suffix, sx in ((left, "Left", 1), (right, "Right", -1)):
        m(f"mouthSmile{suffix}", side * corner * np.array([sx * 0.006, 0.009, -0.004]))
        m(f"mouthFrown{suffix}", side * corner * np.array([0, -0.008, 0]))
        m(f"mouthDimple{suffix}", side * corner * np.array([sx * 0.003, 0, -0.006]))
        m(f"mouthStretch{suffix}", side * corner * np.array([sx * 0.008, -0.003, -0.002]) + side * lower * np.array([0, -0.003, 0]))
        m(f"mouthPress{suffix}", side * (upper * np.array([0, -0.002, 0]) + lower * np.array([0, 0.002, 0])))
        m(f"mouthUpperUp{suffix}", side * upper * middle * np.array([0, 0.006, 0.001]))
        m(f"mouthLowerDown{suffix}", side * lower * middle * np.array([0, -0.007, 0.001]))
    m("mouthRollLower", lower * np.array([0, 0.003, -0.006]))
    m("mouthRollUpper", upper * np.array([0, -0.003, -0.006]))
    m("mouthShrugLower", lower * np.array([0, 0.005, 0.003]))
    m("mouthShrugUpper", upper * np.array([0, 0.004, 0.002]))


def _cavity() -> Part:
    """The dark inside of the mouth, an ellipse just behind the lips; it opens with the jaw."""
    pos, idx = _sphere(0.024, 0.008, 0.004, (0, MOUTH_Y, MOUTH_Z - 0.004), rings=10, segments=24)
    part = Part("Mouth", pos, np.tile(MOUTH, (len(pos), 1)).astype(np.float32), idx)
    _mouth_morphs(part, inside=True)
    return part


def _teeth() -> Part:
    pos, idx = _sphere(0.019, 0.0035, 0.004, (0, MOUTH_Y + 0.0045, MOUTH_Z - 0.003), rings=6, segments=20)
    return Part("Teeth", pos, np.tile(TEETH, (len(pos), 1)).astype(np.float32), idx)


def _tongue() -> Part:
    pos, idx = _sphere(0.012, 0.003, 0.012, (0, MOUTH_Y - 0.004, MOUTH_Z - 0.014), rings=6, segments=16)
    part = Part("Tongue", pos, np.tile(TONGUE, (len(pos), 1)).astype(np.float32), idx)
    part.morph("tongueOut", np.tile([0, -0.004, 0.022], (len(pos), 1)) * np.clip((pos[:, 2:3] - (MOUTH_Z - 0.026)) / 0.024, 0.3, 1))
    part.morph("jawOpen", np.tile([0, -0.018, 0], (len(pos), 1)))
    return part


# The strategies' silence is "no shape"; this avatar shows it as lips resting together.
SILENCE = {"mouthPressLeft": 0.4, "mouthPressRight": 0.4, "mouthClose": 0.3}


def _add_visemes(parts: list[Part]) -> None:
    """viseme_* = the weighted ARKit mouth shapes of strategies.VISEME_ARKIT."""
    for part in parts:
        for viseme, mix in {**VISEME_ARKIT, "sil": SILENCE}.items():
            delta = np.zeros_like(part.positions)
            for name, w in mix.items():
                if name in part.deltas:
                    delta += w * part.deltas[name]
            if delta.any():
                part.deltas[f"viseme_{viseme}"] = delta


def build_parts() -> tuple[list[Part], dict[str, list[Part]]]:
    head, lips, cavity, tongue = _head(), _lips(), _cavity(), _tongue()
    face = [head, _brow(True), _brow(False), _eyelids(True), _eyelids(False), lips, cavity, _teeth(), tongue]
    eyes = {"LeftEye": [_eyeball(True)], "RightEye": [_eyeball(False)]}
    _add_visemes([head, lips, cavity, tongue])
    return face, eyes


def _normals(pos: np.ndarray, idx: np.ndarray) -> np.ndarray:
    tri = idx.reshape(-1, 3)
    n = np.zeros_like(pos, dtype=np.float64)
    fn = np.cross(pos[tri[:, 1]] - pos[tri[:, 0]], pos[tri[:, 2]] - pos[tri[:, 0]])
    for k in range(3):
        np.add.at(n, tri[:, k], fn)
    length = np.linalg.norm(n, axis=1, keepdims=True)
    return (n / np.where(length > 0, length, 1)).astype(np.float32)


class _Writer:
    def __init__(self) -> None:
        self.blob = bytearray()
        self.views: list[pygltflib.BufferView] = []
        self.accessors: list[pygltflib.Accessor] = []

    def add(self, array: np.ndarray, kind: str, target: int | None = None, minmax: bool = False) -> int:
        data = np.ascontiguousarray(array)
        while len(self.blob) % 4:
            self.blob += b"\0"
        self.views.append(pygltflib.BufferView(buffer=0, byteOffset=len(self.blob), byteLength=data.nbytes, target=target))
        self.blob += data.tobytes()
        ctype = pygltflib.UNSIGNED_INT if data.dtype == np.uint32 else pygltflib.FLOAT
        count = len(data) if kind != "SCALAR" else data.size
        acc = pygltflib.Accessor(bufferView=len(self.views) - 1, componentType=ctype, count=count, type=kind)
        if minmax:
            acc.min, acc.max = data.min(axis=0).tolist(), data.max(axis=0).tolist()
        self.accessors.append(acc)
        return len(self.accessors) - 1


def build_gltf() -> pygltflib.GLTF2:
    face, eyes = build_parts()
    w = _Writer()
    meshes, nodes = [], []

    def mesh_of(part: Part) -> int:
        pos = part.positions.astype(np.float32)
        idx = part.indices.astype(np.uint32)
        attrs = pygltflib.Attributes(POSITION=w.add(pos, "VEC3", pygltflib.ARRAY_BUFFER, minmax=True),
                                     NORMAL=w.add(_normals(pos, idx), "VEC3", pygltflib.ARRAY_BUFFER),
                                     COLOR_0=w.add(part.colors.astype(np.float32), "VEC3", pygltflib.ARRAY_BUFFER))
        names = [n for n in TARGET_NAMES if n in part.deltas]
        targets = [{"POSITION": w.add(part.deltas[n].astype(np.float32), "VEC3", pygltflib.ARRAY_BUFFER, minmax=True)}
                   for n in names]
        prim = pygltflib.Primitive(attributes=attrs, indices=w.add(idx, "SCALAR", pygltflib.ELEMENT_ARRAY_BUFFER),
                                   material=0, targets=targets or None)
        meshes.append(pygltflib.Mesh(name=part.name, primitives=[prim], weights=[0.0] * len(names) or None,
                                     extras={"targetNames": names} if names else {}))
        return len(meshes) - 1

    # Node tree: Neck (0) > Head (1) > face meshes, LeftEye, RightEye > eyeballs.
    nodes.append(pygltflib.Node(name="Neck", translation=[0, 0, 0], children=[1]))
    nodes.append(pygltflib.Node(name="Head", translation=[0, 0.08, 0], children=[]))
    for part in face:
        nodes.append(pygltflib.Node(name=f"{part.name}Mesh", mesh=mesh_of(part), translation=[0, 0.09, 0]))
        nodes[1].children.append(len(nodes) - 1)
    for joint, sx in (("LeftEye", 1), ("RightEye", -1)):
        nodes.append(pygltflib.Node(name=joint, translation=[sx * EYE_X, 0.09 + EYE_Y, EYE_Z], children=[]))
        eye_index = len(nodes) - 1
        nodes[1].children.append(eye_index)
        for part in eyes[joint]:
            nodes.append(pygltflib.Node(name=f"{part.name}Mesh", mesh=mesh_of(part)))
            nodes[eye_index].children.append(len(nodes) - 1)
    material = pygltflib.Material(name="Vertex colours", doubleSided=True,
                                  pbrMetallicRoughness=pygltflib.PbrMetallicRoughness(
                                      baseColorFactor=[1, 1, 1, 1], metallicFactor=0.0, roughnessFactor=0.65))
    g = pygltflib.GLTF2(asset=pygltflib.Asset(version="2.0", generator="avatar-driver default_avatar"),
                        scene=0, scenes=[pygltflib.Scene(nodes=[0])], nodes=nodes, meshes=meshes,
                        materials=[material], accessors=w.accessors, bufferViews=w.views,
                        buffers=[pygltflib.Buffer(byteLength=len(w.blob))],
                        extras={"licence": "CC0-1.0", "made_by": "avatar-driver, procedurally"})
    g.set_binary_blob(bytes(w.blob))
    return g


def write(path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = b"".join(build_gltf().save_to_bytes())
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return path
