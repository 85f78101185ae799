"""Per-user voice calibration for the real-time visemes. Pure.

The wizard's voice steps record the user holding a sound ("aah", "eee", "sss", ...). For
each, the steady voiced frames' mean MFCC vector is kept (with its frame count), and the
recording's loudness gives the user's noise floor and loud level. The server adapts its
viseme prototypes with them (MAP: recorded visemes move toward the user's means; the others
shift by the average offset, which carries the voice and microphone colouring).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeGuard

import numpy as np
from numpy.typing import NDArray

from avatar_mapping.vocabulary import VISEMES
from avatar_mapping.voice_features import N_MFCC

# A voice step needs this many voiced 10 ms frames (0.5 s) ...
MIN_VOICED_FRAMES = 50
# ... voiced meaning louder than -42 dBFS (log power; the real-time visemes' default silence
# gate) and within 20 dB of the step's loudest frames.
VOICED_MIN_LOG_ENERGY = -9.6
VOICED_BELOW_PEAK = 4.6
# The noise floor needs this many quiet frames (from the countdowns before voice steps).
MIN_QUIET_FRAMES = 20


class VoiceCalibrationError(ValueError):
    pass


@dataclass(frozen=True)
class VoiceStep:
    """Audio of one voice step, as 10 ms frames: MFCCs (n, 13) and log energies (n,)."""

    viseme: str
    mfcc: NDArray[np.float64]
    log_energy: NDArray[np.float64]
    quiet_log_energy: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))  # the countdown before it

    def voiced(self) -> NDArray[np.bool_]:
        e = self.log_energy
        if len(e) == 0:
            return np.zeros(0, bool)
        return (e > VOICED_MIN_LOG_ENERGY) & (e > np.percentile(e, 95) - VOICED_BELOW_PEAK)


def check_voice_step(step: VoiceStep) -> str | None:
    """Why the recording cannot be used, or None."""
    if len(step.log_energy) == 0:
        return "no audio arrived: is the microphone on?"
    if step.voiced().sum() < MIN_VOICED_FRAMES:
        return "we heard too little: hold the sound longer and a little louder"
    return None


@dataclass(frozen=True)
class VisemeCalibration:
    means: dict[str, tuple[float, ...]]  # the user's mean MFCCs per recorded viseme
    frames: dict[str, int]  # voiced frames behind each mean
    noise_floor: float | None  # log energy of the user's silence (None: not measured)
    loud: float  # log energy of the user's loud vowels

    def to_dict(self) -> dict[str, Any]:  # JSON values
        return {
            "means": {v: [round(x, 5) for x in m] for v, m in self.means.items()},
            "frames": dict(self.frames),
            "noise_floor": None if self.noise_floor is None else round(self.noise_floor, 4),
            "loud": round(self.loud, 4),
        }

    @classmethod
    def from_dict(cls, d: object) -> VisemeCalibration:
        if not isinstance(d, dict):
            raise VoiceCalibrationError("'visemes' must be an object")
        means, frames = d.get("means"), d.get("frames")
        if not isinstance(means, dict) or not isinstance(frames, dict) or set(means) != set(frames):
            raise VoiceCalibrationError("'visemes' needs 'means' and 'frames' for the same visemes")
        for v, m in means.items():
            if v not in VISEMES or v == "sil":
                raise VoiceCalibrationError(f"unknown viseme {v!r}")
            if not isinstance(m, list) or len(m) != N_MFCC or not all(_finite(x) for x in m):
                raise VoiceCalibrationError(f"visemes.means.{v} must be {N_MFCC} finite numbers")
            if not isinstance(frames[v], int) or frames[v] < 1:
                raise VoiceCalibrationError(f"visemes.frames.{v} must be a positive integer")
        floor, loud = d.get("noise_floor"), d.get("loud")
        if not _finite(loud) or (floor is not None and (not _finite(floor) or loud <= floor)):
            raise VoiceCalibrationError("visemes: 'loud' must be a number (above 'noise_floor' when given)")
        return cls(
            {v: tuple(float(x) for x in m) for v, m in means.items()},
            dict(frames),
            None if floor is None else float(floor),
            float(loud),
        )


def _finite(x: object) -> TypeGuard[float]:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and bool(np.isfinite(x))


def compute_viseme_calibration(steps: list[VoiceStep]) -> VisemeCalibration:
    """Means over each step's steady part: voiced frames in the middle 80 % of its loudness."""
    means, frames, louds = {}, {}, []
    quiet = np.concatenate([s.quiet_log_energy for s in steps]) if steps else np.zeros(0)
    for step in steps:
        voiced = step.voiced()
        e = step.log_energy[voiced]
        lo, hi = np.percentile(e, [10, 90])
        steady = voiced & (step.log_energy >= lo) & (step.log_energy <= hi)
        means[step.viseme] = tuple(float(x) for x in step.mfcc[steady].mean(axis=0))
        frames[step.viseme] = int(steady.sum())
        louds.append(float(np.percentile(e, 90)))
    if not means:
        raise VoiceCalibrationError("no voice step was recorded")
    floor = float(np.percentile(quiet, 10)) if len(quiet) >= MIN_QUIET_FRAMES else None
    return VisemeCalibration(means, frames, floor, float(max(louds)))
