"""FaceFeatures + dt -> AvatarFrame for one rig: curves, presence easing, smoothing, bones."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .features import FaceFeatures
from .frame import AvatarFrame
from .one_euro import OneEuroFilter, OneEuroParams
from .rig import INPUT_NAMES, RigDefinition, compile_rig
from .rotation import IDENTITY_QUAT, quat_conjugate, quat_from_euler, quat_multiply, quat_slerp

DEFAULT_SMOOTHING: dict[str, OneEuroParams] = {
    # Blinks are fast: little smoothing, so a blink is never swallowed.
    "eyes": OneEuroParams(min_cutoff_hz=4.0, beta=2.0),
    "brows": OneEuroParams(min_cutoff_hz=1.5, beta=1.0),
    "mouth": OneEuroParams(min_cutoff_hz=2.5, beta=2.0),
    # "linear with damping" rows of the design card's table.
    "damped": OneEuroParams(min_cutoff_hz=0.8, beta=0.3),
    # Angles in degrees: beta is per (deg/s).
    "head": OneEuroParams(min_cutoff_hz=1.0, beta=0.02),
    "gaze": OneEuroParams(min_cutoff_hz=2.0, beta=0.02),
}


@dataclass(frozen=True)
class MapperOptions:
    smoothing: dict[str, OneEuroParams] = field(default_factory=lambda: dict(DEFAULT_SMOOTHING))
    # How long a lost face is held before easing to rest, and the easing time constant.
    absent_hold_s: float = 0.25
    rest_ease_s: float = 0.35
    # Head pose is extrapolated from its recent velocity by at most this long.
    max_extrapolation_s: float = 0.1


class AvatarMapper:
    """Stateful per session: call ``step`` once per output tick with the real dt."""

    def __init__(self, rig: RigDefinition, options: MapperOptions | None = None):
        self.rig = rig
        self.options = options or MapperOptions()
        self._compiled = compile_rig(rig)
        groups = [c.smoothing for c in rig.channels] + ["head"] * 3 + ["gaze"] * 4
        self._filter = OneEuroFilter.from_params([self.options.smoothing[g] for g in groups])
        self._n = len(rig.channels)
        self._last_present: FaceFeatures | None = None
        self._absent_s = 0.0
        self._presence = 0.0
        self._head_velocity = np.zeros(3)
        self._rest = self._compiled.evaluate(np.zeros(len(INPUT_NAMES)))
        self._bones = rig.bone_names
        self._cached_key: tuple[int, float] | None = None
        self._cached_features: FaceFeatures | None = None
        self._cached_channels = self._rest
        self._neck_share = rig.neck_share if "neck" in rig.bones else 0.0

    def step(self, features: FaceFeatures, dt_s: float, age_s: float = 0.0) -> AvatarFrame:
        """Advance by dt_s; ``features`` is the newest measurement, ``age_s`` old."""
        dt_s = max(0.0, float(dt_s))
        if features.present:
            self._track_velocity(features)
            self._last_present = features
            self._absent_s = 0.0
            target_presence = 1.0
        else:
            self._absent_s += dt_s
            target_presence = 1.0 if self._absent_s < self.options.absent_hold_s else 0.0
        ease = 1.0 - math.exp(-dt_s / self.options.rest_ease_s) if dt_s > 0 else 0.0
        self._presence += (target_presence - self._presence) * (1.0 if features.present else ease)

        raw = self._raw_targets(age_s)
        smoothed = self._filter(raw, dt_s)
        return self._frame(smoothed, features)

    def _track_velocity(self, f: FaceFeatures) -> None:
        prev = self._last_present
        if prev is None or f.capture_ms <= prev.capture_ms:
            return
        dt = (f.capture_ms - prev.capture_ms) / 1000.0
        if dt > 0.5:  # too far apart to say anything about motion
            self._head_velocity[:] = 0.0
            return
        now = np.array([f.head.yaw_deg, f.head.pitch_deg, f.head.roll_deg])
        before = np.array([prev.head.yaw_deg, prev.head.pitch_deg, prev.head.roll_deg])
        self._head_velocity = (now - before) / dt

    def _raw_targets(self, age_s: float) -> np.ndarray:
        f = self._last_present
        p = self._presence
        if f is None or p <= 0.0:
            channels = self._rest
            head = np.zeros(3)
            eyes = np.zeros(4)
        else:
            channels = self._channels(f, p)
            lead = min(max(age_s, 0.0), self.options.max_extrapolation_s) if self._absent_s == 0.0 else 0.0
            head = (np.array([f.head.yaw_deg, f.head.pitch_deg, f.head.roll_deg]) + self._head_velocity * lead) * p
            eyes = np.array([f.left_eye.yaw_deg, f.left_eye.pitch_deg, f.right_eye.yaw_deg, f.right_eye.pitch_deg]) * p
        return np.concatenate([channels, head, eyes])

    def _channels(self, f: FaceFeatures, presence: float) -> np.ndarray:
        """Rig curves of the features, reused while the same features are shown at full presence."""
        key = (id(f), presence)
        if self._cached_key != key or self._cached_features is not f:
            self._cached_channels = self._compiled.evaluate(np.concatenate([f.blendshapes, f.action_units]) * presence)
            self._cached_key, self._cached_features = key, f
        return self._cached_channels

    def _frame(self, v: np.ndarray, features: FaceFeatures) -> AvatarFrame:
        n = self._n
        weights = np.clip(v[:n], self._compiled.lo, self._compiled.hi)
        yaw, pitch, roll, ly, lp, ry, rp = v[n:n + 7].tolist()
        total = quat_from_euler(yaw, pitch, roll)
        # Without a neck bone the head carries the whole rotation.
        neck = quat_slerp(IDENTITY_QUAT, total, self._neck_share) if self._neck_share else IDENTITY_QUAT
        rotations = {
            "neck": neck,
            "head": quat_multiply(quat_conjugate(neck), total),
            "left_eye": quat_from_euler(ly, lp, 0.0),
            "right_eye": quat_from_euler(ry, rp, 0.0),
        }
        bones = self._bones
        last = self._last_present
        return AvatarFrame(
            channels=self.rig.channel_names,
            weights=weights,
            bones=bones,
            rotations=np.array([rotations[b] for b in bones]).reshape(len(bones), 4),
            head_yaw_deg=yaw,
            head_pitch_deg=pitch,
            head_roll_deg=roll,
            face_present=features.present,
            capture_ms=features.capture_ms if features.present else (last.capture_ms if last else None),
        )
