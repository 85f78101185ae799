"""Builds the product's own avatar: a stylised bust GLB anyone may use and redistribute (CC0).

Procedural geometry (numpy) written with pygltflib: a head with a jaw and chin, ears, hair
with a fringe, brows lying on the skin, lidded eyes with round irises and pupils and a lash
line, lips that meet at rest, mouth cavity, teeth and tongue; a neck, shoulders and a shirt.
All 52 ARKit morph targets and the 15 `viseme_*` targets (as mixes of the ARKit mouth shapes,
from the strategies' viseme table), and the nodes Spine > Chest > Neck > Head >
LeftEye/RightEye, the head pivoting at the top of the neck as a head does. Each channel
moves the part its name says; a test checks every one of them moves something. Units:
metres, +Y up, +Z forward (glTF).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pygltflib
from numpy.typing import NDArray

from avatar_mapping.strategies import VISEME_ARKIT
from avatar_mapping.vocabulary import ARKIT_BLENDSHAPES, VISEMES

TARGET_NAMES = list(ARKIT_BLENDSHAPES) + [f"viseme_{v}" for v in VISEMES]
SKIN, BROW, LIP, MOUTH, TEETH, TONGUE = (
    (0.91, 0.71, 0.58),
    (0.20, 0.12, 0.08),
    (0.78, 0.38, 0.38),
    (0.25, 0.05, 0.07),
    (0.97, 0.96, 0.92),
    (0.85, 0.4, 0.45),
)
HAIR, SHIRT, LASH, IRIS, SCLERA = (
    (0.26, 0.16, 0.10),
    (0.18, 0.42, 0.52),
    (0.12, 0.08, 0.07),
    (0.30, 0.50, 0.72),
    (0.96, 0.95, 0.93),
)
HEAD_RADII, HEAD_CENTRE = (0.075, 0.095, 0.085), (0.0, 0.01, 0.0)
EYE_X, EYE_Y, EYE_Z, EYE_R = 0.030, 0.022, 0.066, 0.0125
MOUTH_Y, MOUTH_Z = -0.040, 0.073

Vec3 = tuple[float, float, float]


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


def _sphere(
    rx: float,
    ry: float,
    rz: float,
    centre: Vec3 | NDArray[np.float64] = (0.0, 0.0, 0.0),
    rings: int = 24,
    segments: int = 32,
    theta: tuple[float, float] = (0.0, math.pi),
) -> tuple[NDArray[np.float32], NDArray[np.uint32]]:
    """Ellipsoid (or a band of it, theta = polar range from +Y) with +Z as the front."""
    t = np.linspace(theta[0], theta[1], rings + 1)
    p = np.linspace(-math.pi, math.pi, segments + 1)
    tt, pp = np.meshgrid(t, p, indexing="ij")
    pos = np.stack([rx * np.sin(tt) * np.sin(pp), ry * np.cos(tt), rz * np.sin(tt) * np.cos(pp)], -1).reshape(-1, 3)
    pos += np.array(centre)
    idx: list[int] = []
    for i in range(rings):
        for j in range(segments):
            a, b = i * (segments + 1) + j, (i + 1) * (segments + 1) + j
            idx += [a, b, a + 1, a + 1, b, b + 1]
    return pos.astype(np.float32), np.array(idx, dtype=np.uint32)


def _bump(pos: np.ndarray, centre: Vec3, radius: Vec3) -> NDArray[np.floating]:
    """Smooth 0..1 falloff around a point (for localised morphs)."""
    d = np.linalg.norm((pos - np.array(centre)) / np.array(radius), axis=1)
    weight: NDArray[np.floating] = np.clip(1.0 - d * d, 0.0, 1.0)[:, None] ** 2
    return weight


def _side(pos: np.ndarray, left: bool) -> np.ndarray:
    """Weight of the subject's left (+X) or right (-X) half, soft across the middle."""
    s = np.clip(pos[:, 0] / 0.01, -1, 1) * 0.5 + 0.5
    return (s if left else 1 - s)[:, None]


def _head_shape(pos: np.ndarray) -> np.ndarray:
    """The egg made a head: the jaw and chin narrow below the cheekbones, a nose, eye sockets."""
    rel_y = pos[:, 1] - HEAD_CENTRE[1]
    below = np.clip(-rel_y / HEAD_RADII[1], 0, 1)
    shaped = pos * np.stack([1 - 0.22 * below**1.6, np.ones(len(pos)), 1 - 0.10 * below**2], 1)
    chin = _bump(pos, (0, -0.078, 0.055), (0.03, 0.025, 0.04))
    shaped += chin[:, 0:1] * np.array([0, -0.004, 0.006])
    nose = _bump(pos, (0, -0.008, 0.09), (0.012, 0.026, 0.03))
    tip = _bump(pos, (0, -0.020, 0.09), (0.010, 0.010, 0.02))
    shaped += nose[:, 0:1] * np.array([0, 0, 0.020]) + tip[:, 0:1] * np.array([0, -0.002, 0.006])
    for sx in (1, -1):
        socket = _bump(pos, (sx * EYE_X, EYE_Y, 0.08), (0.022, 0.017, 0.03))
        shaped -= socket[:, 0:1] * np.array([0, 0, 0.016])
    # Under the lips the skin steps back, so the mouth's inside (in front of it) shows when it opens.
    mouth = _bump(pos, (0, MOUTH_Y, 0.075), (0.030, 0.016, 0.03))
    shaped -= mouth[:, 0:1] * np.array([0, 0, 0.005])
    return shaped.astype(np.float32)


def _head() -> Part:
    pos, idx = _sphere(*HEAD_RADII, HEAD_CENTRE)
    colors = np.tile(SKIN, (len(pos), 1))
    for sx in (1, -1):  # a little colour in the cheeks, shade in the eye sockets and nostrils
        colors = colors + _bump(pos, (sx * 0.042, -0.018, 0.065), (0.025, 0.02, 0.03)) * np.array([0.0, -0.10, -0.07])
        colors = colors - _bump(pos, (sx * EYE_X, EYE_Y + 0.004, 0.08), (0.02, 0.014, 0.03)) * 0.10
        colors = colors - _bump(pos, (sx * 0.008, -0.026, 0.085), (0.005, 0.004, 0.02)) * 0.35
    colors = colors - _bump(pos, (0, -0.031, 0.085), (0.006, 0.004, 0.02)) * 0.08  # under the nose
    head = Part("Head", pos, colors.astype(np.float32), idx)
    jaw = np.clip((MOUTH_Y + 0.005 - pos[:, 1]) / 0.04, 0, 1)[:, None] * (pos[:, 2] > -0.02)[:, None]
    head.morph("jawOpen", jaw * np.array([0, -0.028, -0.004]))
    head.morph("jawForward", jaw * np.array([0, 0, 0.012]))
    for name, sign in (("jawLeft", 1), ("jawRight", -1)):
        head.morph(name, jaw * np.array([0.012 * sign, 0, 0]))
    for left, suffix in ((True, "Left"), (False, "Right")):
        sx = 1 if left else -1
        cheek = _bump(pos, (sx * 0.045, -0.02, 0.06), (0.03, 0.03, 0.04))
        head.morph("cheekPuff", cheek * np.array([sx * 0.012, 0, 0.008]))
        head.morph(
            f"cheekSquint{suffix}",
            _bump(pos, (sx * 0.038, 0.0, 0.07), (0.025, 0.02, 0.03)) * np.array([0, 0.007, 0.004]),
        )
        head.morph(
            f"noseSneer{suffix}",
            _bump(pos, (sx * 0.012, -0.005, 0.088), (0.014, 0.014, 0.02)) * np.array([0, 0.006, 0.002]),
        )
        head.morph(
            f"mouthDimple{suffix}",
            _bump(pos, (sx * 0.034, MOUTH_Y, 0.07), (0.012, 0.012, 0.02)) * np.array([0, 0, -0.005]),
        )
    head.positions = _head_shape(pos)
    return head


def _skin_z(points: np.ndarray, lift: float) -> np.ndarray:
    """The z of the (shaped) head's front surface under each (x, y), plus ``lift``: what lies on
    the skin (brows, the hairline) follows the face instead of floating in front of it."""
    pos, _ = _sphere(*HEAD_RADII, HEAD_CENTRE, rings=96, segments=128)
    skin = _head_shape(pos)
    front = skin[skin[:, 2] > 0]
    d = np.linalg.norm(front[None, :, :2] - points[:, None, :2], axis=2)
    near = np.argsort(d, axis=1)[:, :4]
    w = 1.0 / (np.take_along_axis(d, near, axis=1) + 1e-5)
    z: NDArray[np.floating] = (front[near, 2] * w).sum(axis=1) / w.sum(axis=1) + lift
    return z


def _brow(left: bool) -> Part:
    """A tapered arch lying on the brow ridge: thick at the inner end, thin at the tail."""
    sx = 1 if left else -1
    x = np.linspace(0.010, 0.050, 10) * sx
    points: list[tuple[float, float, float]] = []
    idx: list[int] = []
    for i, xi in enumerate(x):
        t = (abs(xi) - 0.010) / 0.040
        y = EYE_Y + 0.022 + 0.006 * math.sin(t * math.pi * 0.85) - 0.003 * t
        half = 0.0040 * (1 - 0.55 * t)
        points += [(xi, y + half, 0.0), (xi, y - half, 0.0)]
        if i:
            a = 2 * (i - 1)
            idx += [a, a + 1, a + 2, a + 2, a + 1, a + 3] if left else [a, a + 2, a + 1, a + 2, a + 3, a + 1]
    pos = np.array(points, np.float32)
    pos[:, 2] = _skin_z(pos, 0.0015)
    suffix = "Left" if left else "Right"
    part = Part(f"Brow{suffix}", pos, np.tile(BROW, (len(pos), 1)), np.array(idx, np.uint32))
    inner = np.clip(1 - (np.abs(pos[:, 0]) - 0.012) / 0.038, 0, 1)[:, None]

    def on_skin(delta: np.ndarray) -> np.ndarray:
        """A brow movement that slides along the skin instead of sinking into it."""
        moved = pos + delta
        moved[:, 2] = _skin_z(moved, 0.0015)
        shift: NDArray[np.float64] = moved - pos
        return shift

    part.morph(f"browDown{suffix}", on_skin(np.array([0, -0.006, 0]) + inner * np.array([-sx * 0.004, -0.003, 0])))
    part.morph("browInnerUp", on_skin(inner * np.array([0, 0.009, 0])))
    part.morph(f"browOuterUp{suffix}", on_skin((1 - inner) * np.array([0, 0.009, 0])))
    return part


def _ear(left: bool) -> Part:
    """An ear on each side, a little behind the cheekbone, from eye to nose height."""
    sx = 1 if left else -1
    pos, idx = _sphere(0.008, 0.025, 0.015, rings=12, segments=16)
    cup = np.clip(pos[:, 0] * sx / 0.008, 0, 1)  # the outer side hollowed: a rim and a bowl
    pos = pos - np.stack([sx * 0.005 * cup * (np.abs(pos[:, 1]) < 0.018), 0 * cup, 0 * cup], 1)
    tilt, turn = math.radians(-12), math.radians(25 * sx)  # leaning back, turned to face forward-out
    rx = np.array([[1, 0, 0], [0, math.cos(tilt), -math.sin(tilt)], [0, math.sin(tilt), math.cos(tilt)]])
    ry = np.array([[math.cos(turn), 0, math.sin(turn)], [0, 1, 0], [-math.sin(turn), 0, math.cos(turn)]])
    pos = (pos @ (ry @ rx).T + np.array([sx * 0.073, 0.002, -0.004])).astype(np.float32)
    colors = np.tile(SKIN, (len(pos), 1)) + cup[:, None] * np.array([0.0, -0.08, -0.06])
    return Part(f"Ear{'Left' if left else 'Right'}", pos, colors.astype(np.float32), idx)


def _hair() -> Part:
    """A cap of hair from the crown down to a hairline that is high on the forehead, above the
    ears at the sides and low at the nape, with a fringe swept to one side. Rows run from the
    crown to the hairline, so its edge is a smooth curve."""
    azimuth = np.linspace(-math.pi, math.pi, 65)  # 0 at the front
    t = np.linspace(0.0, 1.0, 25)
    tt, aa = np.meshgrid(t, azimuth, indexing="ij")
    c = np.cos(aa)
    front, back, side = c.clip(0, 1), (-c).clip(0, 1), np.abs(np.sin(aa))
    # The hairline's polar angle: high on the forehead, just above the ears, low at the nape;
    # the fringe is swept to the subject's left, lower there and short on the right.
    fringe = 0.04 * np.clip(np.sin(aa + 0.35) * 2.2, -1, 1) * front**0.6
    edge = (0.47 - 0.16 * front**0.7 + 0.25 * back**1.5 + fringe + 0.05 * side * front) * math.pi
    polar = tt * edge
    rx, ry, rz = HEAD_RADII[0] * 1.10, HEAD_RADII[1] * 1.06, HEAD_RADII[2] * 1.09
    pos = np.stack([rx * np.sin(polar) * np.sin(aa), ry * np.cos(polar), rz * np.sin(polar) * np.cos(aa)], -1).reshape(
        -1, 3
    )
    pos = _head_shape(pos + np.array(HEAD_CENTRE))
    # Volume: most at the crown and the sides (a silhouette wider than the skull), thinning to the edge.
    volume = ((1 - tt**2) * (0.009 + 0.007 * side) + 0.003 * (tt > 0.8) * side).reshape(-1)
    out = pos - np.array(HEAD_CENTRE)
    pos += volume[:, None] * out / np.linalg.norm(out, axis=1, keepdims=True)
    shade = (0.80 + 0.30 * np.clip((pos[:, 1] - HEAD_CENTRE[1]) / HEAD_RADII[1], -0.5, 1.0))[:, None]
    streak = 0.06 * np.sin(aa.reshape(-1) * 23.0 + 3.0 * tt.reshape(-1))[:, None]  # strands
    return Part(
        "Hair",
        pos.astype(np.float32),
        (np.array(HAIR) * (shade + streak)).astype(np.float32),
        _grid_indices(len(t), len(azimuth)),
    )


def _body() -> tuple[Part, Part]:
    """The neck (under the Neck node) and the shoulders in a shirt (under the Chest node)."""
    t = np.linspace(0, 1, 9)
    a = np.linspace(-math.pi, math.pi, 33)
    tt, aa = np.meshgrid(t, a, indexing="ij")
    radius = 0.037 + 0.012 * tt**3  # wider where it meets the shoulders
    neck_pos = np.stack([radius * np.sin(aa), 0.085 - 0.11 * tt, 0.9 * radius * np.cos(aa) - 0.006], -1).reshape(-1, 3)
    shadow = 1.0 - 0.12 * np.clip(1 - tt.reshape(-1) * 3, 0, 1)  # under the jaw
    neck = Part(
        "Neck",
        neck_pos.astype(np.float32),
        (np.array(SKIN) * shadow[:, None]).astype(np.float32),
        _grid_indices(len(t), len(a)),
    )
    # Shoulders: a superellipsoid (flat on top, round at the shoulder tips) whose top slopes
    # from the neck down to the shoulders, cut off at the chest.
    polar = np.linspace(0, 0.80 * math.pi, 30)
    azimuth = np.linspace(-math.pi, math.pi, 49)
    pp, aa = np.meshgrid(polar, azimuth, indexing="ij")

    def power(v: np.ndarray, e: float) -> np.ndarray:
        signed: NDArray[np.float64] = np.sign(v) * np.abs(v) ** e
        return signed

    upper = np.minimum(pp, math.pi / 2)  # the top is a superellipsoid, below the widest line a wall
    x = 0.185 * power(np.sin(upper), 0.55) * power(np.sin(aa), 0.8) * (1 - 0.08 * np.clip(pp - upper, 0, 1))
    y = 0.075 * power(np.cos(upper), 0.45) - 0.25 * (pp - upper)
    z = 0.080 * power(np.sin(upper), 0.55) * power(np.cos(aa), 0.8)
    y = y - 0.040 * (np.abs(x) / 0.185) ** 1.8  # the slope of the shoulders
    pos = np.stack([x, y - 0.028, z - 0.012], -1).reshape(-1, 3)
    fold = 1.0 - 0.10 * (np.abs(pos[:, 0]) < 0.05) * np.clip((pos[:, 1] + 0.02) / 0.02, 0, 1)  # the neckline's shade
    shirt = Part(
        "Shoulders",
        pos.astype(np.float32),
        (np.array(SHIRT) * fold[:, None]).astype(np.float32),
        _grid_indices(len(polar), len(azimuth)),
    )
    # A round collar where the neck meets the shirt (in the shirt's, the chest's, space).
    ring, tube = np.linspace(-math.pi, math.pi, 41), np.linspace(-math.pi, math.pi, 9)
    rr, tt2 = np.meshgrid(ring, tube, indexing="ij")
    collar_radius = 0.048 + 0.008 * np.cos(tt2)
    collar = np.stack(
        [
            collar_radius * np.sin(rr),
            0.040 + 0.006 * np.sin(tt2) - 0.004 * np.cos(rr),
            0.9 * collar_radius * np.cos(rr) - 0.013,
        ],
        -1,
    ).reshape(-1, 3)
    shirt = _merged(
        "Shoulders",
        shirt,
        Part(
            "Collar",
            collar.astype(np.float32),
            np.tile(np.array(SHIRT) * 0.85, (len(collar), 1)).astype(np.float32),
            _grid_indices(len(ring), len(tube)),
        ),
    )
    return neck, shirt


def _merged(name: str, *parts: Part) -> Part:
    """Static parts as one mesh (one draw call)."""
    offsets = np.cumsum([0] + [len(p.positions) for p in parts[:-1]])
    return Part(
        name,
        np.vstack([p.positions for p in parts]),
        np.vstack([p.colors for p in parts]),
        np.concatenate([p.indices + o for p, o in zip(parts, offsets, strict=True)]).astype(np.uint32),
    )


def _grid_indices(rows: int, cols: int) -> np.ndarray:
    idx = []
    for i in range(rows - 1):
        for j in range(cols - 1):
            a, b = i * cols + j, (i + 1) * cols + j
            idx += [a, a + 1, b, a + 1, b + 1, b]
    return np.array(idx, np.uint32)


def _eyeball(left: bool) -> Part:
    """Around its own centre (the LeftEye/RightEye node); the iris faces +Z. Rings around the
    gaze axis, so the pupil, iris and limbus are round."""
    polar = np.concatenate([np.linspace(0, 0.34, 4), np.linspace(0.38, 0.68, 6), np.linspace(0.72, math.pi, 14)])
    p = np.linspace(-math.pi, math.pi, 33)
    tt, pp = np.meshgrid(polar, p, indexing="ij")
    pos = (EYE_R * np.stack([np.sin(tt) * np.cos(pp), np.sin(tt) * np.sin(pp), np.cos(tt)], -1)).reshape(-1, 3)
    pos = pos.astype(np.float32)
    idx = _grid_indices(len(polar), len(p))
    theta = tt.reshape(-1)
    iris = np.array(IRIS) * (0.70 + 0.50 * np.clip((theta - 0.34) / 0.30, 0, 1))[:, None]  # lighter outward
    colors = np.where(
        (theta <= 0.34)[:, None],
        (0.03, 0.03, 0.04),
        np.where((theta <= 0.64)[:, None], iris, np.where((theta <= 0.72)[:, None], np.array(IRIS) * 0.40, SCLERA)),
    )
    suffix = "Left" if left else "Right"
    part = Part(f"Eye{suffix}", pos, colors.astype(np.float32), idx)

    def turned(yaw_deg: float, pitch_deg: float) -> np.ndarray:
        y, p = math.radians(yaw_deg), math.radians(pitch_deg)
        ry = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
        rx = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
        shift: NDArray[np.float64] = pos @ (ry @ rx).T - pos
        return shift

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
    up, up_idx = _sphere(r, r, r, centre, rings=8, segments=32, theta=(0.0, 0.42 * math.pi))
    lo, lo_idx = _sphere(r, r, r, centre, rings=6, segments=32, theta=(0.72 * math.pi, math.pi))
    pos = np.vstack([up, lo])
    idx = np.concatenate([up_idx, lo_idx + len(up)])
    suffix = "Left" if left else "Right"
    n_up = len(up)
    rel = pos - centre
    polar = np.arccos(np.clip(rel[:, 1] / r, -1, 1))
    is_up = np.arange(len(pos)) < n_up
    edge = np.where(is_up, polar > 0.36 * math.pi, polar < 0.76 * math.pi)  # the lash line
    colors = np.where(edge[:, None], LASH, SKIN)
    part = Part(f"Eyelids{suffix}", pos, colors.astype(np.float32), idx)

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
        shift: NDArray[np.float64] = moved - rel
        return shift

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
    """Upper and lower lip, meeting at rest along the mouth line: a tube around the mouth whose
    centre line is an ellipse just taller than the tube is thick, so the lips touch."""
    segments, tube = 48, 10
    points: list[tuple[float, float, float]] = []
    idx: list[int] = []
    upper: list[float] = []
    for i in range(segments):
        a = 2 * math.pi * i / segments
        fullness = abs(math.sin(a))  # fuller in the middle, thin at the corners
        cx, cy = 0.023 * math.cos(a), (0.0030 + 0.0008 * (math.sin(a) < 0)) * math.sin(a)
        ry = 0.0010 + (0.0024 if math.sin(a) > 0 else 0.0030) * fullness
        rz = 0.0020 + 0.0018 * fullness
        for j in range(tube):
            b = 2 * math.pi * j / tube
            points.append(
                (cx, MOUTH_Y + cy + ry * math.cos(b) * np.sign(math.sin(a) or 1.0), MOUTH_Z + rz * math.sin(b))
            )
            upper.append(float(np.clip(math.sin(a) * 4 + 0.5, 0, 1)))
    for i in range(segments):
        for j in range(tube):
            a, b = i * tube + j, ((i + 1) % segments) * tube + j
            c, d = i * tube + (j + 1) % tube, ((i + 1) % segments) * tube + (j + 1) % tube
            idx += [a, b, c, c, b, d]
    pos = np.array(points, np.float32)
    inner = np.abs(pos[:, 1] - MOUTH_Y) < 0.0012  # the line where the lips meet, darker
    colors = np.where(inner[:, None], np.array(LIP) * 0.55, np.array(LIP) * np.where(pos[:, 1:2] > MOUTH_Y, 0.88, 1.0))
    part = Part("Lips", pos, colors.astype(np.float32), np.array(idx, np.uint32))
    _mouth_morphs(part, upper=np.array(upper)[:, None])
    return part


def _mouth_morphs(part: Part, inside: bool = False, upper: np.ndarray | None = None) -> None:
    """The ARKit mouth shapes, shared by lips and the mouth cavity. ``upper`` (0..1 per vertex)
    says what belongs to the upper lip; by default, what lies above the mouth line."""
    pos = part.positions
    rel = pos - np.array([0, MOUTH_Y, MOUTH_Z])
    if upper is None:
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
    m(
        "mouthFunnel",
        -x * np.array([0.35, 0, 0]) + middle * np.array([0, 0, 0.008]) + (upper - lower) * np.array([0, 0.004, 0]),
    )
    m("mouthPucker", -x * np.array([0.5, 0, 0]) + np.array([0, 0, 0.007]) * (1 - corner * 0.5))
    m("mouthLeft", np.tile([0.012, 0, 0], (len(pos), 1)))
    m("mouthRight", np.tile([-0.012, 0, 0], (len(pos), 1)))
    for side, suffix, sx in ((left, "Left", 1), (right, "Right", -1)):
        m(f"mouthSmile{suffix}", side * corner * np.array([sx * 0.006, 0.009, -0.004]))
        m(f"mouthFrown{suffix}", side * corner * np.array([0, -0.008, 0]))
        m(f"mouthDimple{suffix}", side * corner * np.array([sx * 0.003, 0, -0.006]))
        m(
            f"mouthStretch{suffix}",
            side * corner * np.array([sx * 0.008, -0.003, -0.002]) + side * lower * np.array([0, -0.003, 0]),
        )
        m(f"mouthPress{suffix}", side * (upper * np.array([0, -0.002, 0]) + lower * np.array([0, 0.002, 0])))
        m(f"mouthUpperUp{suffix}", side * upper * middle * np.array([0, 0.006, 0.001]))
        m(f"mouthLowerDown{suffix}", side * lower * middle * np.array([0, -0.007, 0.001]))
    m("mouthRollLower", lower * np.array([0, 0.003, -0.006]))
    m("mouthRollUpper", upper * np.array([0, -0.003, -0.006]))
    m("mouthShrugLower", lower * np.array([0, 0.005, 0.003]))
    m("mouthShrugUpper", upper * np.array([0, 0.004, 0.002]))


def _cavity() -> Part:
    """The dark inside of the mouth, an ellipse just behind the lips; it opens with the jaw."""
    pos, idx = _sphere(0.023, 0.005, 0.004, (0, MOUTH_Y, MOUTH_Z - 0.004), rings=10, segments=24)
    part = Part("Mouth", pos, np.tile(MOUTH, (len(pos), 1)).astype(np.float32), idx)
    _mouth_morphs(part, inside=True)
    return part


def _teeth() -> Part:
    pos, idx = _sphere(0.018, 0.0032, 0.004, (0, MOUTH_Y + 0.0040, MOUTH_Z - 0.005), rings=6, segments=20)
    return Part("Teeth", pos, np.tile(TEETH, (len(pos), 1)).astype(np.float32), idx)


def _tongue() -> Part:
    pos, idx = _sphere(0.012, 0.003, 0.012, (0, MOUTH_Y - 0.004, MOUTH_Z - 0.014), rings=6, segments=16)
    part = Part("Tongue", pos, np.tile(TONGUE, (len(pos), 1)).astype(np.float32), idx)
    part.morph(
        "tongueOut",
        np.tile([0, -0.004, 0.022], (len(pos), 1)) * np.clip((pos[:, 2:3] - (MOUTH_Z - 0.026)) / 0.024, 0.3, 1),
    )
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


# Where each node sits in its parent (metres): the head turns about the top of the neck, the
# neck about its base between the shoulders. FACE_OFFSET places the head's meshes (modelled
# around the head's centre) above that pivot and a little forward, as a skull sits on a spine.
SPINE_TO_CHEST, CHEST_TO_NECK, NECK_TO_HEAD = (0.0, 0.10, 0.0), (0.0, 0.03, -0.005), (0.0, 0.062, 0.0)
FACE_OFFSET = (0.0, 0.070, 0.012)


def build_parts() -> dict[str, list[Part]]:
    """Every mesh, by the node that carries it."""
    head, lips, cavity, tongue = _head(), _lips(), _cavity(), _tongue()
    face = [
        head,
        _hair(),
        _ear(True),
        _ear(False),
        _brow(True),
        _brow(False),
        _eyelids(True),
        _eyelids(False),
        lips,
        cavity,
        _teeth(),
        tongue,
    ]
    _add_visemes([head, lips, cavity, tongue])
    neck, shoulders = _body()
    return {
        "Head": face,
        "LeftEye": [_eyeball(True)],
        "RightEye": [_eyeball(False)],
        "Neck": [neck],
        "Chest": [shoulders],
    }


def _linear(srgb: np.ndarray) -> np.ndarray:
    """glTF vertex colours are linear; the palette above is written as sRGB, as colours are picked."""
    c = np.clip(srgb, 0.0, 1.0)
    linear: NDArray[np.float32] = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4).astype(np.float32)
    return linear


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
        self.views.append(
            pygltflib.BufferView(buffer=0, byteOffset=len(self.blob), byteLength=data.nbytes, target=target)
        )
        self.blob += data.tobytes()
        ctype = pygltflib.UNSIGNED_INT if data.dtype == np.uint32 else pygltflib.FLOAT
        count = len(data) if kind != "SCALAR" else data.size
        acc = pygltflib.Accessor(bufferView=len(self.views) - 1, componentType=ctype, count=count, type=kind)
        if minmax:
            acc.min, acc.max = data.min(axis=0).tolist(), data.max(axis=0).tolist()
        self.accessors.append(acc)
        return len(self.accessors) - 1


def build_gltf() -> pygltflib.GLTF2:
    parts = build_parts()
    w = _Writer()
    meshes, nodes = [], []

    def mesh_of(part: Part) -> int:
        pos = part.positions.astype(np.float32)
        idx = part.indices.astype(np.uint32)
        attrs = pygltflib.Attributes(
            POSITION=w.add(pos, "VEC3", pygltflib.ARRAY_BUFFER, minmax=True),
            NORMAL=w.add(_normals(pos, idx), "VEC3", pygltflib.ARRAY_BUFFER),
            COLOR_0=w.add(_linear(part.colors), "VEC3", pygltflib.ARRAY_BUFFER),
        )
        names = [n for n in TARGET_NAMES if n in part.deltas]
        targets = [
            {"POSITION": w.add(part.deltas[n].astype(np.float32), "VEC3", pygltflib.ARRAY_BUFFER, minmax=True)}
            for n in names
        ]
        prim = pygltflib.Primitive(
            attributes=attrs,
            indices=w.add(idx, "SCALAR", pygltflib.ELEMENT_ARRAY_BUFFER),
            material=0,
            targets=targets or None,
        )
        meshes.append(
            pygltflib.Mesh(
                name=part.name,
                primitives=[prim],
                weights=[0.0] * len(names) or None,
                extras={"targetNames": names} if names else {},
            )
        )
        return len(meshes) - 1

    # Node tree: Spine > Chest (shoulders) > Neck (neck) > Head (face meshes) > LeftEye, RightEye.
    def node(
        name: str,
        parent: int | None,
        translation: Sequence[float],
        mesh_parts: Sequence[Part] = (),
        mesh_offset: Sequence[float] = (0, 0, 0),
    ) -> int:
        nodes.append(pygltflib.Node(name=name, translation=list(translation), children=[]))
        index = len(nodes) - 1
        if parent is not None:
            nodes[parent].children.append(index)
        for part in mesh_parts:
            nodes.append(pygltflib.Node(name=f"{part.name}Mesh", mesh=mesh_of(part), translation=list(mesh_offset)))
            nodes[index].children.append(len(nodes) - 1)
        return index

    spine = node("Spine", None, (0, 0, 0))
    chest = node("Chest", spine, SPINE_TO_CHEST, parts["Chest"])
    neck = node("Neck", chest, CHEST_TO_NECK, parts["Neck"])
    head = node("Head", neck, NECK_TO_HEAD, parts["Head"], FACE_OFFSET)
    for joint, sx in (("LeftEye", 1), ("RightEye", -1)):
        node(joint, head, (sx * EYE_X, FACE_OFFSET[1] + EYE_Y, FACE_OFFSET[2] + EYE_Z), parts[joint])
    material = pygltflib.Material(
        name="Vertex colours",
        doubleSided=True,
        pbrMetallicRoughness=pygltflib.PbrMetallicRoughness(
            baseColorFactor=[1, 1, 1, 1], metallicFactor=0.0, roughnessFactor=0.8
        ),
    )
    g = pygltflib.GLTF2(
        asset=pygltflib.Asset(version="2.0", generator="avatar-driver default_avatar"),
        scene=0,
        scenes=[pygltflib.Scene(nodes=[spine])],
        nodes=nodes,
        meshes=meshes,
        materials=[material],
        accessors=w.accessors,
        bufferViews=w.views,
        buffers=[pygltflib.Buffer(byteLength=len(w.blob))],
        extras={"licence": "CC0-1.0", "made_by": "avatar-driver, procedurally"},
    )
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
