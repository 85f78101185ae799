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

IDENTITY_QUAT = np.array([0.0, 0.0, 0.0, 1.0])


def euler_from_matrix(rotation: np.ndarray) -> tuple[float, float, float]:
    """(yaw_deg, pitch_deg, roll_deg) of a 3x3 rotation matrix, R = Ry Rx Rz."""
    r = np.asarray(rotation, dtype=np.float64)
    pitch = math.asin(max(-1.0, min(1.0, -r[1, 2])))
    yaw = math.atan2(r[0, 2], r[2, 2])
    roll = math.atan2(r[1, 0], r[1, 1])
    return math.degrees(yaw), math.degrees(pitch), math.degrees(roll)


def quat_from_euler(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    """Quaternion [x, y, z, w] of Ry(yaw) @ Rx(pitch) @ Rz(roll)."""
    qy = _axis_angle((0.0, 1.0, 0.0), yaw_deg)
    qx = _axis_angle((1.0, 0.0, 0.0), pitch_deg)
    qz = _axis_angle((0.0, 0.0, 1.0), roll_deg)
    return quat_multiply(quat_multiply(qy, qx), qz)


def _axis_angle(axis: tuple[float, float, float], angle_deg: float) -> np.ndarray:
    half = math.radians(angle_deg) / 2.0
    s = math.sin(half)
    return np.array([axis[0] * s, axis[1] * s, axis[2] * s, math.cos(half)])


def quat_multiply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product a * b (apply b first, then a)."""
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return np.array([
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
        aw * bw - ax * bx - ay * by - az * bz,
    ])


def quat_conjugate(q: np.ndarray) -> np.ndarray:
    return np.array([-q[0], -q[1], -q[2], q[3]])


def quat_slerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Spherical interpolation along the shorter arc."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    dot = float(np.dot(a, b))
    if dot < 0.0:
        b, dot = -b, -dot
    if dot > 0.9995:
        q = a + t * (b - a)
        return q / np.linalg.norm(q)
    theta = math.acos(dot)
    s = math.sin(theta)
    return (math.sin((1.0 - t) * theta) * a + math.sin(t * theta) * b) / s


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    x, y, z, w = q
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])
