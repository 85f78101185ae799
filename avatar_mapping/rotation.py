"""Quaternion and Euler helpers for head and eye rotations.

Conventions (glTF frame: +Y up, +Z the subject's forward, +X the subject's left):
  yaw_deg   about +Y, positive turns the head to the subject's left;
  pitch_deg about +X, positive tips the nose down;
  roll_deg  about +Z, positive tilts the head toward the subject's right shoulder.
The rotation is R = Ry(yaw) @ Rx(pitch) @ Rz(roll). Quaternions are [x, y, z, w].
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

IDENTITY_QUAT = (0.0, 0.0, 0.0, 1.0)


def euler_from_matrix(rotation: NDArray[np.float64]) -> tuple[float, float, float]:
    """(yaw_deg, pitch_deg, roll_deg) of a 3x3 rotation matrix, R = Ry Rx Rz."""
    r = np.asarray(rotation, dtype=np.float64)
    pitch = math.asin(max(-1.0, min(1.0, -r[1, 2])))
    yaw = math.atan2(r[0, 2], r[2, 2])
    roll = math.atan2(r[1, 0], r[1, 1])
    return math.degrees(yaw), math.degrees(pitch), math.degrees(roll)


Quat = tuple[float, float, float, float]
# What the quaternion helpers read: a Quat or a numpy array of four components.
QuatLike = Quat | NDArray[np.float64]


def quat_from_euler(yaw_deg: float, pitch_deg: float, roll_deg: float) -> Quat:
    """Quaternion (x, y, z, w) of Ry(yaw) @ Rx(pitch) @ Rz(roll).

    Plain float math: for single quaternions it is several times faster than numpy.
    """
    cy, sy = math.cos(math.radians(yaw_deg) / 2), math.sin(math.radians(yaw_deg) / 2)
    cp, sp = math.cos(math.radians(pitch_deg) / 2), math.sin(math.radians(pitch_deg) / 2)
    cr, sr = math.cos(math.radians(roll_deg) / 2), math.sin(math.radians(roll_deg) / 2)
    # (0, sy, 0, cy) * (sp, 0, 0, cp) * (0, 0, sr, cr), expanded.
    return (
        cy * sp * cr + sy * cp * sr,
        sy * cp * cr - cy * sp * sr,
        cy * cp * sr - sy * sp * cr,
        cy * cp * cr + sy * sp * sr,
    )


def quat_multiply(a: QuatLike, b: QuatLike) -> Quat:
    """Hamilton product a * b (apply b first, then a)."""
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return (
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
        aw * bw - ax * bx - ay * by - az * bz,
    )


def quat_conjugate(q: QuatLike) -> Quat:
    return (-q[0], -q[1], -q[2], q[3])


def quat_slerp(a: QuatLike, b: QuatLike, t: float) -> Quat:
    """Spherical interpolation along the shorter arc."""
    dot = a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3]
    if dot < 0.0:
        b, dot = (-b[0], -b[1], -b[2], -b[3]), -dot
    if dot > 0.9995:
        q = [av + t * (bv - av) for av, bv in zip(a, b, strict=True)]
        n = math.sqrt(sum(v * v for v in q))
        return (q[0] / n, q[1] / n, q[2] / n, q[3] / n)
    theta = math.acos(dot)
    s = math.sin(theta)
    wa, wb = math.sin((1.0 - t) * theta) / s, math.sin(t * theta) / s
    mixed = [wa * av + wb * bv for av, bv in zip(a, b, strict=True)]
    return (mixed[0], mixed[1], mixed[2], mixed[3])


def quat_to_matrix(q: QuatLike) -> NDArray[np.float64]:
    x, y, z, w = q
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )
