"""AvatarFrame: what an avatar should show at one output tick."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True, eq=False)
class AvatarFrame:
    channels: tuple[str, ...]
    weights: NDArray[np.float64]  # one weight per channel, within the rig's limits
    bones: tuple[str, ...]
    rotations: NDArray[np.float64]  # (len(bones), 4) local quaternions [x, y, z, w]
    head_yaw_deg: float = 0.0
    head_pitch_deg: float = 0.0
    head_roll_deg: float = 0.0
    face_present: bool = False
    # capture_ms of the newest video frame that contributed (client clock), if any.
    capture_ms: int | None = None
    viseme: str = "sil"
    viseme_conf: float = 0.0
    visemes: dict[str, float] = field(default_factory=dict)
    particles: dict[str, float] = field(default_factory=dict)

    def weights_by_name(self) -> dict[str, float]:
        return {n: float(w) for n, w in zip(self.channels, self.weights, strict=True)}

    def rotations_by_bone(self) -> dict[str, list[float]]:
        return {b: [float(v) for v in q] for b, q in zip(self.bones, self.rotations, strict=True)}
