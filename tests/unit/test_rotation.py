import math

import numpy as np
import pytest

from avatar_mapping.rotation import (
    euler_from_matrix,
    quat_conjugate,
    quat_from_euler,
    quat_multiply,
    quat_slerp,
    quat_to_matrix,
)


@pytest.mark.parametrize("ypr", [(0, 0, 0), (30, 0, 0), (0, -20, 0), (0, 0, 15), (25, -10, 8), (-60, 35, -20)])
def test_euler_round_trip(ypr: tuple[int, int, int]) -> None:
    m = quat_to_matrix(quat_from_euler(*ypr))
    assert np.allclose(euler_from_matrix(m), ypr, atol=1e-9)


def test_sign_conventions() -> None:
    forward = np.array([0.0, 0.0, 1.0])
    # yaw > 0 turns the face toward +X, the subject's left
    assert quat_to_matrix(quat_from_euler(30, 0, 0)) @ forward @ np.array([1, 0, 0]) > 0
    # pitch > 0 tips the nose down
    assert quat_to_matrix(quat_from_euler(0, 20, 0)) @ forward @ np.array([0, 1, 0]) < 0
    # roll > 0 raises the subject's left side (+X goes up)
    assert quat_to_matrix(quat_from_euler(0, 0, 20)) @ np.array([1.0, 0, 0]) @ np.array([0, 1, 0]) > 0


def test_slerp_halfway_and_split_recomposes() -> None:
    q = quat_from_euler(40, 10, -6)
    half = quat_slerp(np.array([0, 0, 0, 1.0]), q, 0.5)
    assert np.allclose(quat_multiply(half, half), q, atol=1e-9)
    neck = quat_slerp(np.array([0, 0, 0, 1.0]), q, 0.4)
    head = quat_multiply(quat_conjugate(neck), q)
    assert np.allclose(quat_multiply(neck, head), q, atol=1e-9)
    assert math.isclose(np.linalg.norm(head), 1.0)
