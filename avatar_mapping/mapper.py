"""One tick of the mapping: calibration -> fusion -> strategy -> rig -> smoothing -> bones.

Stateful per session (filters, presence, velocity); call ``step`` once per output tick
with the real dt. Same inputs and dt give the same frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from .avatar_frame import AvatarFrame
from .face_calibration import FaceCalibration
from .features import FaceFeatures
from .fused import FusedState, fuse
from .gaze_hold import GazeHold, GazeHoldOptions
from .rig import RigDefinition, compile_rig
from .rotation import IDENTITY_QUAT, quat_conjugate, quat_from_euler, quat_multiply, quat_slerp
from .smoothing import DEFAULT_SMOOTHING, GroupParams, GroupSmoother
from .strategies import VIS, Direct, Strategy, StrategyContext, StrategyOutput
from .tongue import tongue_out
from .vocabulary import ARKIT_INDEX, VISEMES
from .voice_features import VoiceFeatures

# Posture: degrees of forward bend of spine and chest at slouch 1 / lean 1.
SLOUCH_SPINE_DEG, SLOUCH_CHEST_DEG, LEAN_CHEST_DEG = 8.0, 6.0, 6.0


TONGUE, JAW = ARKIT_INDEX["tongueOut"], ARKIT_INDEX["jawOpen"]


@dataclass(frozen=True)
class MapperOptions:
    smoothing: dict[str, GroupParams] = field(default_factory=lambda: dict(DEFAULT_SMOOTHING))
    # How long a lost face is held before easing to rest, and the easing time constant.
    absent_hold_s: float = 0.25
    rest_ease_s: float = 0.35
    # Head pose is extrapolated from its recent velocity by at most this long.
    max_extrapolation_s: float = 0.1
    # False: no emotion is inferred (emotion-driven strategies then show none).
    emotion_inference: bool = True
    # Gaze while a lid covers the iris (gaze_hold.py); None: the tracker's reading as it is.
    gaze_hold: GazeHoldOptions | None = field(default_factory=GazeHoldOptions)


def rig_context(rig: RigDefinition) -> StrategyContext:
    sources = {s for c in rig.channels for s in c.sources}
    return StrategyContext(
        rig_has_visemes=any(s.startswith("viseme_") for s in sources),
        rig_reads_aus=any(s.startswith("AU") for s in sources),
    )


class AvatarMapper:
    def __init__(
        self,
        rig: RigDefinition,
        options: MapperOptions | None = None,
        strategy: Strategy | None = None,
        calibration: FaceCalibration | None = None,
    ):
        self.rig = rig
        self.options = options or MapperOptions()
        self.strategy = strategy or Direct(rig_context(rig))
        self.calibration = calibration or FaceCalibration()
        self._compiled = compile_rig(rig)
        self._gaze_hold = GazeHold(self.options.gaze_hold) if self.options.gaze_hold is not None else None
        groups = [c.smoothing for c in rig.channels] + ["head"] * 3 + ["gaze"] * 4 + ["posture"] * 2
        self._smoother = GroupSmoother(groups, self.options.smoothing)
        self._n = len(rig.channels)
        self._bones = rig.bone_names
        self._channel_names = rig.channel_names
        self._raw = np.zeros(self._n + 9)  # channels, head yaw/pitch/roll, eyes (4), slouch, lean
        self._neck_share = rig.neck_share if "neck" in rig.bones else 0.0
        self._rest = self._compiled.evaluate(np.zeros(self._compiled.weights.shape[1]))
        self._last_present: FaceFeatures | None = None
        self._fused: tuple[int, int, FusedState] | None = None  # (id(face), id(voice), state)
        self._absent_s = 0.0
        self._presence = 0.0
        self._head_velocity = np.zeros(3)
        self.last_state: FusedState | None = None
        self._strategy_out: tuple[FusedState, Strategy, StrategyOutput] | None = None

    def set_strategy(self, strategy: Strategy) -> None:
        self.strategy = strategy

    def set_calibration(self, table: FaceCalibration) -> None:
        self.calibration = table
        self._fused = None

    def step(
        self, features: FaceFeatures, dt_s: float, age_s: float = 0.0, voice: VoiceFeatures | None = None
    ) -> AvatarFrame:
        """Advance by dt_s; ``features`` is the newest measurement, ``age_s`` old."""
        dt_s = max(0.0, float(dt_s))
        if features.present:
            self._track_velocity(features)
            self._last_present = features
            self._absent_s = 0.0
            self._presence = 1.0
        else:
            self._absent_s += dt_s
            if self._absent_s >= self.options.absent_hold_s and dt_s > 0:
                self._presence *= math.exp(-dt_s / self.options.rest_ease_s)
                if self._presence < 1e-4:
                    self._presence = 0.0
        # While the face fades, the strategy still sees the last face; once it has faded (or
        # never appeared) it sees no face, so its output holds only what the voice drives.
        face = self._last_present if self._last_present is not None and self._presence > 0.0 else features
        state = self._fuse(face, voice)
        if (
            self.strategy.stateful
            or self._strategy_out is None
            or self._strategy_out[0] is not state
            or self._strategy_out[1] is not self.strategy
        ):
            self._strategy_out = (state, self.strategy, self.strategy.step(state, dt_s))
        out = self._strategy_out[2]
        raw = self._raw_targets(out, age_s)
        smoothed = self._smoother(raw, dt_s)
        return self._frame(smoothed, features, out, state)

    def _fuse(self, face: FaceFeatures, voice: VoiceFeatures | None) -> FusedState:
        key = (id(face), id(voice))
        if self._fused is None or self._fused[:2] != key or self._fused[2].face.capture_ms != face.capture_ms:
            calibrated = self.calibration.apply(face)
            if self._gaze_hold is not None:
                calibrated = self._gaze_hold.apply(calibrated)
            self._fused = (key[0], key[1], fuse(calibrated, voice, self.options.emotion_inference))
        self.last_state = self._fused[2]
        return self._fused[2]

    def _track_velocity(self, f: FaceFeatures) -> None:
        prev = self._last_present
        if prev is None or f.capture_ms <= prev.capture_ms:
            return
        dt = (f.capture_ms - prev.capture_ms) / 1000.0
        if dt > 0.5:  # too far apart to say anything about motion
            self._head_velocity[:] = 0.0
            return
        self._head_velocity = (
            np.array(
                [
                    f.head.yaw_deg - prev.head.yaw_deg,
                    f.head.pitch_deg - prev.head.pitch_deg,
                    f.head.roll_deg - prev.head.roll_deg,
                ]
            )
            / dt
        )

    def _raw_targets(self, out: StrategyOutput, age_s: float) -> NDArray[np.float64]:
        """Face-driven values fade with face presence; voice-driven ones (visemes) do not, so a
        microphone alone still moves the mouth."""
        p = self._presence
        state = self.last_state
        f = state.face if state else None
        raw, n = self._raw, self._n
        has_face = f is not None and f.present and p > 0.0
        has_voice = state is not None and state.voice.present
        if not (has_face or has_voice):
            raw[:n] = self._rest
            raw[n:] = 0.0
            return raw
        if has_face:
            canonical = out.channels * p
            if has_voice:
                canonical[VIS] = out.channels[VIS]
        else:  # computed without a face: everything in it comes from the voice
            canonical = out.channels
        if has_voice:  # the tongue the face model never reports, from the voice (tongue.py)
            canonical = canonical.copy() if canonical is out.channels else canonical
            canonical[TONGUE] = max(canonical[TONGUE], tongue_out(out.channels[VIS], canonical[JAW]))
        raw[:n] = self._compiled.evaluate(canonical)
        if f is None or not has_face:
            raw[n:] = 0.0
            return raw
        lead = min(max(age_s, 0.0), self.options.max_extrapolation_s) if self._absent_s == 0.0 else 0.0
        h, v = f.head, self._head_velocity
        raw[n:] = (
            h.yaw_deg + v[0] * lead,
            h.pitch_deg + out.head_pitch_offset_deg + v[1] * lead,
            h.roll_deg + v[2] * lead,
            f.left_eye.yaw_deg,
            f.left_eye.pitch_deg,
            f.right_eye.yaw_deg,
            f.right_eye.pitch_deg,
            out.slouch,
            out.lean,
        )
        raw[n:] *= p
        return raw

    def _frame(
        self, v: NDArray[np.float64], features: FaceFeatures, out: StrategyOutput, state: FusedState
    ) -> AvatarFrame:
        n = self._n
        weights = np.minimum(np.maximum(v[:n], self._compiled.lo), self._compiled.hi)
        yaw, pitch, roll, ly, lp, ry, rp, slouch, lean = v[n : n + 9].tolist()
        total = quat_from_euler(yaw, pitch, roll)
        # Without a neck bone the head carries the whole rotation.
        neck = quat_slerp(IDENTITY_QUAT, total, self._neck_share) if self._neck_share else IDENTITY_QUAT
        bones = self._bones
        rotation_of = {
            "spine": lambda: quat_from_euler(0.0, slouch * SLOUCH_SPINE_DEG, 0.0),
            "chest": lambda: quat_from_euler(0.0, slouch * SLOUCH_CHEST_DEG + lean * LEAN_CHEST_DEG, 0.0),
            "neck": lambda: neck,
            "head": lambda: quat_multiply(quat_conjugate(neck), total),
            # Within the rig's eye range (its VRM lookAt, or conservative defaults): an eye turned
            # further shows its white where the iris should be.
            "left_eye": lambda: quat_from_euler(*self.rig.eye_limits.clamp("left_eye", ly, lp), 0.0),
            "right_eye": lambda: quat_from_euler(*self.rig.eye_limits.clamp("right_eye", ry, rp), 0.0),
        }
        last = self._last_present
        visemes: dict[str, float] = {}
        viseme, viseme_conf = "sil", 0.0
        if state.voice.present:
            vis = np.clip(out.channels[VIS], 0.0, 1.0)
            visemes = dict(zip(VISEMES, vis.tolist(), strict=True))
            viseme = VISEMES[int(np.argmax(vis))] if vis.any() else "sil"
            viseme_conf = float(state.voice.viseme_conf)
        return AvatarFrame(
            channels=self._channel_names,
            weights=weights,
            bones=bones,
            rotations=np.array([rotation_of[b]() for b in bones]).reshape(len(bones), 4),
            head_yaw_deg=yaw,
            head_pitch_deg=pitch,
            head_roll_deg=roll,
            face_present=features.present,
            capture_ms=features.capture_ms if features.present else (last.capture_ms if last else None),
            viseme=viseme,
            viseme_conf=viseme_conf,
            visemes=visemes,
            particles={k: v * self._presence for k, v in out.particles.items()},
        )
