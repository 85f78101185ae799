"""Mapping strategies: FusedState -> the canonical channel vector, pluggable by name. Pure.

Every strategy fills the same vector (vocabulary.CANONICAL_CHANNELS: ARKit, AUs,
viseme_*, preset_*) plus a head offset, a posture and particles; the rig then maps that
vector onto the avatar's own targets. Strategies may keep state (filters); they advance
only with the dt they are given.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .action_units import action_units
from .distress import distress
from .fused import FusedState
from .mouth_composition import compose_mouth
from .vocabulary import (
    ACTION_UNITS,
    ARKIT_BLENDSHAPES,
    ARKIT_INDEX,
    AU_INDEX,
    CANONICAL_CHANNELS,
    EMOTIONS,
    EXPRESSION_PRESETS,
    PRESET_OF_EMOTION,
    VISEMES,
)

N_ARKIT, N_AU, N_VIS = len(ARKIT_BLENDSHAPES), len(ACTION_UNITS), len(VISEMES)
ARKIT = slice(0, N_ARKIT)
AU = slice(N_ARKIT, N_ARKIT + N_AU)
VIS = slice(N_ARKIT + N_AU, N_ARKIT + N_AU + N_VIS)
PRESET = slice(N_ARKIT + N_AU + N_VIS, len(CANONICAL_CHANNELS))

# What each expression preset shows on an ARKit face, and its stylistic extras.
PRESET_ARKIT: dict[str, dict[str, float]] = {
    "happy": {
        "mouthSmileLeft": 0.8,
        "mouthSmileRight": 0.8,
        "cheekSquintLeft": 0.4,
        "cheekSquintRight": 0.4,
        "eyeSquintLeft": 0.3,
        "eyeSquintRight": 0.3,
    },
    "sad": {"mouthFrownLeft": 0.6, "mouthFrownRight": 0.6, "browInnerUp": 0.6, "mouthShrugLower": 0.3},
    "angry": {
        "browDownLeft": 0.8,
        "browDownRight": 0.8,
        "noseSneerLeft": 0.3,
        "noseSneerRight": 0.3,
        "mouthPressLeft": 0.4,
        "mouthPressRight": 0.4,
        "eyeSquintLeft": 0.3,
        "eyeSquintRight": 0.3,
    },
    "surprised": {
        "browInnerUp": 0.8,
        "browOuterUpLeft": 0.8,
        "browOuterUpRight": 0.8,
        "eyeWideLeft": 0.7,
        "eyeWideRight": 0.7,
        "jawOpen": 0.35,
    },
    "fear": {
        "browInnerUp": 0.7,
        "eyeWideLeft": 0.6,
        "eyeWideRight": 0.6,
        "mouthStretchLeft": 0.5,
        "mouthStretchRight": 0.5,
    },
    "disgust": {
        "noseSneerLeft": 0.7,
        "noseSneerRight": 0.7,
        "mouthUpperUpLeft": 0.5,
        "mouthUpperUpRight": 0.5,
        "browDownLeft": 0.3,
        "browDownRight": 0.3,
    },
    "relaxed": {"mouthSmileLeft": 0.25, "mouthSmileRight": 0.25, "eyeSquintLeft": 0.15, "eyeSquintRight": 0.15},
    "neutral": {},
}
# Per preset: head pitch (degrees, + = down), slouch (0..1) and particle levels.
PRESET_STYLE: dict[str, dict[str, float]] = {
    "happy": {"glow_intensity": 0.2},
    "sad": {"head_pitch_deg": 3.0, "slouch": 0.3},
    "angry": {"head_pitch_deg": 1.5, "lean": 0.2},
    "surprised": {"head_pitch_deg": -2.0, "lean": -0.1},
    "fear": {"head_pitch_deg": 1.0, "lean": -0.2},
    "disgust": {"head_pitch_deg": -1.0},
}
# Mouth shapes of each viseme on an ARKit face (for rigs without viseme targets), at full
# strength: jaw and lips per Oculus viseme, as animators pose them (docs/strategies.md).
VISEME_ARKIT: dict[str, dict[str, float]] = {
    "sil": {},
    "PP": {
        "mouthPressLeft": 0.6,
        "mouthPressRight": 0.6,
        "mouthClose": 0.4,
        "mouthRollLower": 0.2,
        "mouthRollUpper": 0.2,
    },
    "FF": {"mouthRollLower": 0.7, "mouthUpperUpLeft": 0.3, "mouthUpperUpRight": 0.3, "jawOpen": 0.12},
    "TH": {"jawOpen": 0.2, "tongueOut": 0.5},
    "DD": {"jawOpen": 0.3, "mouthStretchLeft": 0.25, "mouthStretchRight": 0.25},
    "kk": {"jawOpen": 0.35, "mouthStretchLeft": 0.2, "mouthStretchRight": 0.2},
    "CH": {"jawOpen": 0.2, "mouthFunnel": 0.6, "mouthPucker": 0.3},
    "SS": {"jawOpen": 0.12, "mouthStretchLeft": 0.45, "mouthStretchRight": 0.45},
    "nn": {"jawOpen": 0.25, "mouthClose": 0.1},
    "RR": {"jawOpen": 0.25, "mouthFunnel": 0.4, "mouthPucker": 0.4},
    "aa": {"jawOpen": 0.75, "mouthLowerDownLeft": 0.4, "mouthLowerDownRight": 0.4},
    "E": {
        "jawOpen": 0.45,
        "mouthStretchLeft": 0.35,
        "mouthStretchRight": 0.35,
        "mouthSmileLeft": 0.2,
        "mouthSmileRight": 0.2,
    },
    "I": {"jawOpen": 0.3, "mouthStretchLeft": 0.5, "mouthStretchRight": 0.5},
    "O": {"jawOpen": 0.55, "mouthFunnel": 0.7},
    "U": {"jawOpen": 0.25, "mouthPucker": 0.9, "mouthFunnel": 0.35},
}
MOUTH = np.array([n.startswith(("jaw", "mouth", "tongue", "cheekPuff")) for n in ARKIT_BLENDSHAPES])


def _table(rows: dict[str, dict[str, float]], keys: tuple[str, ...]) -> NDArray[np.float64]:
    m = np.zeros((N_ARKIT, len(keys)))
    for j, key in enumerate(keys):
        for name, w in rows[key].items():
            m[ARKIT_INDEX[name], j] = w
    return m


PRESET_TO_ARKIT = _table(PRESET_ARKIT, EXPRESSION_PRESETS)
VISEME_TO_ARKIT = _table(VISEME_ARKIT, VISEMES)
# (presets x emotions): which preset shows each emotion class.
EMOTION_TO_PRESET = np.zeros((len(EXPRESSION_PRESETS), len(EMOTIONS)))
for _j, _e in enumerate(EMOTIONS):
    EMOTION_TO_PRESET[EXPRESSION_PRESETS.index(PRESET_OF_EMOTION[_e]), _j] = 1.0


def spoken_visemes(visemes: NDArray[np.float64]) -> NDArray[np.float64]:
    """What the mouth shows of a viseme distribution: its two most likely visemes in
    proportion, summing to 1. The classifier spreads its probability over similar sounds
    (its top viseme holds ~0.4 during speech); blended as they come the mouth would only
    half-open. Silence stays silence (sil has no shape)."""
    top = np.argpartition(visemes, -2)[-2:]
    total = visemes[top].sum()
    out = np.zeros_like(visemes)
    if total > 0:
        out[top] = visemes[top] / total
    return out


def spoken_mouth(visemes: NDArray[np.float64]) -> NDArray[np.float64]:
    """The ARKit weights of what the voice says (spoken_visemes through VISEME_ARKIT)."""
    return VISEME_TO_ARKIT @ spoken_visemes(visemes)


SMILE = np.array([ARKIT_INDEX["mouthSmileLeft"], ARKIT_INDEX["mouthSmileRight"]])
# Channels an emotion-driven face still takes from the tracked face: blinks and gaze.
EYES = np.array([ARKIT_INDEX[n] for n in ARKIT_BLENDSHAPES if n.startswith(("eyeBlink", "eyeLook"))])


@dataclass
class StrategyOutput:
    channels: NDArray[np.float64]  # canonical vector
    head_pitch_offset_deg: float = 0.0
    slouch: float = 0.0  # 0..1, bends spine and chest forward
    lean: float = 0.0  # -1..1, + leans the chest forward
    particles: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class StrategyContext:
    """What a strategy needs to know about the rig it feeds."""

    rig_has_visemes: bool = False
    # False when no rig channel reads AUs: strategies then skip recomputing them.
    rig_reads_aus: bool = True


@dataclass(frozen=True)
class Param:
    """A numeric strategy parameter: its default and the range it is accepted in."""

    default: float
    lo: float
    hi: float
    doc: str


class Strategy(ABC):
    name: str = ""
    description: str = ""
    # A stateless strategy gives the same output for the same state, so the mapper
    # may reuse it while the state does not change.
    stateful: bool = False
    # Its numeric parameters, checked when it is made; `tables` names parameters that carry
    # a table the strategy checks itself.
    numbers: dict[str, Param] = {}
    tables: dict[str, str] = {}

    def __init__(self, context: StrategyContext, params: dict[str, Any] | None = None):
        """Raises ValueError naming the parameter when one is unknown or out of its range."""
        # params: JSON values (a session's request, a strategy's table file), checked here.
        self.context = context
        self.params = dict(params or {})
        unknown = sorted(set(self.params) - set(self.numbers) - set(self.tables))
        if unknown:
            known = sorted(self.numbers) + sorted(self.tables)
            raise ValueError(f"{self.name} has no parameter {unknown[0]!r}; it takes {known or 'none'}")
        self.value: dict[str, float] = {}
        for key, param in self.numbers.items():
            v = self.params.get(key, param.default)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not param.lo <= v <= param.hi:
                raise ValueError(
                    f"{self.name}.{key} must be a number from {param.lo:g} to {param.hi:g}, got {v!r}"[:160]
                )
            self.value[key] = float(v)

    @abstractmethod
    def step(self, state: FusedState, dt_s: float) -> StrategyOutput: ...

    def _base(self, state: FusedState) -> NDArray[np.float64]:
        out = np.zeros(len(CANONICAL_CHANNELS))
        if state.voice.present:
            out[VIS] = spoken_visemes(state.voice.visemes)
        return out

    def _voice_mouth(self, state: FusedState, arkit: NDArray[np.float64], weight: float) -> NDArray[np.float64]:
        """The mouth channels handed to the voice by ``weight`` (0..1) on rigs without viseme
        targets (those show the viseme channels instead, which every strategy fills)."""
        if weight <= 0.0 or not state.voice.present or self.context.rig_has_visemes:
            return arkit
        return np.where(MOUTH, (1.0 - weight) * arkit + weight * spoken_mouth(state.voice.visemes), arkit)

    def _voice_only(self, state: FusedState) -> bool:
        """No face to show, but a voice: the voice drives the mouth (every strategy)."""
        return state.voice.present and not state.face.present


def _unit(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Clip to 0..1 (np.clip's wrapper costs more than the work on small arrays)."""
    return np.minimum(np.maximum(x, 0.0), 1.0)


def _presets_of(emotion: NDArray[np.float64]) -> NDArray[np.float64]:
    return EMOTION_TO_PRESET @ emotion


_STYLE_KEYS = sorted({k for row in PRESET_STYLE.values() for k in row})
_STYLE = np.array([[PRESET_STYLE.get(p, {}).get(k, 0.0) for p in EXPRESSION_PRESETS] for k in _STYLE_KEYS])


def _style(presets: NDArray[np.float64], out: StrategyOutput, gain: float) -> None:
    for key, amount in zip(_STYLE_KEYS, (gain * (_STYLE @ presets)).tolist(), strict=True):
        if key == "head_pitch_deg":
            out.head_pitch_offset_deg += amount
        elif key in ("slouch", "lean"):
            setattr(out, key, getattr(out, key) + amount)
        else:
            out.particles[key] = out.particles.get(key, 0.0) + amount


class Direct(Strategy):
    name = "direct"
    description = (
        "Calibrated ARKit blendshapes passed straight through; the voice shapes the mouth while no face is seen."
    )

    def step(self, state: FusedState, dt_s: float) -> StrategyOutput:
        out = self._base(state)
        if self._voice_only(state):
            out[ARKIT] = self._voice_mouth(state, state.face.blendshapes, 1.0)
            out[AU] = action_units(out[ARKIT])
        else:
            out[ARKIT] = state.face.blendshapes
            out[AU] = state.face.action_units
        return StrategyOutput(out)


# An au_linear row's numbers: (default, lowest, highest).
_ROW_NUMBERS = {
    "gain": (1.0, 0.0, 10.0),
    "center": (0.5, 0.0, 1.0),
    "slope": (10.0, 0.1, 100.0),
    "time_constant_s": (0.0, 0.0, 10.0),
}
_ROW_CURVES = ("clamp", "damped", "sigmoid")


def _row(j: int, r: object) -> dict[str, Any]:  # JSON values
    """One checked row of an au_linear table; ValueError naming the field otherwise."""
    if not isinstance(r, dict) or r.get("au") not in AU_INDEX:
        raise ValueError(f"au_linear rows[{j}] needs 'au', one of the action units")
    to = r.get("to")
    if not isinstance(to, list) or not to or any(not isinstance(n, str) or n not in ARKIT_INDEX for n in to):
        raise ValueError(f"au_linear rows[{j}].to must list ARKit blendshape names")
    if r.get("curve", "clamp") not in _ROW_CURVES:
        raise ValueError(f"au_linear rows[{j}].curve must be one of {list(_ROW_CURVES)}")
    row = {"au": r["au"], "to": to, "curve": r.get("curve", "clamp")}
    for key, (default, lo, hi) in _ROW_NUMBERS.items():
        v = r.get(key, default)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:
            raise ValueError(f"au_linear rows[{j}].{key} must be a number from {lo:g} to {hi:g}")
        row[key] = float(v)
    return row


class AuLinear(Strategy):
    """params: {"rows": [...], "passthrough": [...]}, the table of rigs/strategies/au_linear.json."""

    name = "au_linear"
    description = "Action units -> blendshapes by a table (clamp, linear with damping, sigmoid per row)."
    tables = {
        "rows": "the AU -> blendshape table (default: rigs/strategies/au_linear.json)",
        "passthrough": "ARKit channels copied per eye (blinks, gaze)",
        "description": "what the table is (text, not used)",
    }

    def __init__(self, context: StrategyContext, params: dict[str, Any] | None = None):
        super().__init__(context, params)
        rows = self.params.get("rows")
        if not isinstance(rows, list) or not rows or len(rows) > 256:
            raise ValueError(
                "au_linear needs its table: params {'rows': [...]} of at most 256 rows (rigs/strategies/au_linear.json)"
            )
        rows = [_row(j, r) for j, r in enumerate(rows)]
        passthrough = self.params.get("passthrough", [])
        if not isinstance(passthrough, list) or any(
            not isinstance(n, str) or n not in ARKIT_INDEX for n in passthrough
        ):
            raise ValueError("au_linear passthrough must list ARKit blendshape names")
        self._au = np.array([AU_INDEX[r["au"]] for r in rows])
        self._gain = np.array([r["gain"] for r in rows])
        self._curve = np.array([r["curve"] for r in rows])
        self._center = np.array([r["center"] for r in rows])
        self._slope = np.array([r["slope"] for r in rows])
        self._tau = np.array([r["time_constant_s"] for r in rows])
        self._to = np.zeros((N_ARKIT, len(rows)))
        for j, r in enumerate(rows):
            for name in r["to"]:
                self._to[ARKIT_INDEX[name], j] = 1.0
        self._passthrough = np.array([ARKIT_INDEX[n] for n in passthrough], dtype=int)
        self._sig = self._curve == "sigmoid"
        k, c = self._slope[self._sig], self._center[self._sig]
        self._sig_lo, self._sig_hi = 1.0 / (1.0 + np.exp(k * c)), 1.0 / (1.0 + np.exp(-k * (1.0 - c)))
        self._damped_rows = np.flatnonzero(self._curve == "damped")
        damped_to = self._to[:, self._damped_rows]
        self._damped_arkit = np.flatnonzero(damped_to.any(axis=1))  # ARKit channels of damped rows
        self._damped_to = damped_to[self._damped_arkit]
        self._damped: NDArray[np.float64] | None = None
        self._gain_for: tuple[float, NDArray[np.float64]] | None = None
        self._static: tuple[FusedState, NDArray[np.float64], NDArray[np.float64]] | None = None  # (state, y, canonical)
        self.stateful = bool(len(self._damped_rows))

    def _rows(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        y = _unit(self._gain * x)
        sig = self._sig
        if sig.any():  # logistic rescaled so that 0 -> 0 and 1 -> 1
            s = 1.0 / (1.0 + np.exp(-self._slope[sig] * (x[sig] - self._center[sig])))
            y[sig] = _unit((s - self._sig_lo) / (self._sig_hi - self._sig_lo))
        return y

    def step(self, state: FusedState, dt_s: float) -> StrategyOutput:
        if self._static is None or self._static[0] is not state:
            y = self._rows(state.face.action_units[self._au])
            out = self._base(state)
            arkit = _unit(self._to @ y)
            arkit[self._passthrough] = state.face.blendshapes[self._passthrough]
            out[ARKIT] = arkit
            out[AU] = state.face.action_units
            self._static = (state, y, out)
        _, y, out = self._static
        if self._voice_only(state):
            out = out.copy()
            out[ARKIT] = self._voice_mouth(state, out[ARKIT], 1.0)
            out[AU] = action_units(out[ARKIT])
        if not self.stateful:
            return StrategyOutput(out)
        # Damped rows advance every tick with the real dt; only their targets change.
        d = self._damped_rows
        if self._damped is None:
            self._damped = y[d].copy()
        elif dt_s > 0:
            if self._gain_for is None or self._gain_for[0] != dt_s:  # output ticks mostly share one dt
                self._gain_for = (dt_s, 1.0 - np.exp(-dt_s / np.maximum(self._tau[d], 1e-6)))
            self._damped += self._gain_for[1] * (y[d] - self._damped)
        out = out.copy()
        out[self._damped_arkit] = _unit(self._damped_to @ self._damped)  # ARKit comes first
        return StrategyOutput(out)


class EmotionPreset(Strategy):
    name = "emotion_preset"
    description = "Emotion probabilities -> expression presets and posture, for stylised rigs and NPCs."
    numbers = {"intensity": Param(1.0, 0.0, 3.0, "scale of presets and posture")}

    def step(self, state: FusedState, dt_s: float) -> StrategyOutput:
        gain = self.value["intensity"]
        presets = _presets_of(state.emotion) * gain
        out = self._base(state)
        out[PRESET] = presets
        arkit = PRESET_TO_ARKIT @ presets
        arkit[EYES] = state.face.blendshapes[EYES]  # the avatar still blinks and looks where the user looks
        if state.voice.present and not self.context.rig_has_visemes:
            arkit = np.where(MOUTH, np.maximum(arkit, spoken_mouth(state.voice.visemes)), arkit)
        out[ARKIT] = _unit(arkit)
        if self.context.rig_reads_aus:
            out[AU] = action_units(out[ARKIT])
        result = StrategyOutput(out)
        _style(presets, result, 1.0)
        return result


class Hybrid(Strategy):
    name = "hybrid"
    description = (
        "Calibrated ARKit plus an emotion accent; while the user speaks, the visemes open and round "
        "the mouth, blended by confidence, and the face keeps its smile, frown and brows."
    )
    numbers = {
        "accent": Param(0.3, 0.0, 2.0, "emotion accent on top of the face"),
        "speaking_threshold": Param(0.7, 0.0, 1.0, "speaking probability above which visemes take the mouth"),
        "speaking_ramp": Param(0.15, 0.01, 1.0, "width of the hand-over ramp"),
    }

    def speech_weight(self, state: FusedState) -> float:
        if not state.voice.present:
            return 0.0
        threshold = self.value["speaking_threshold"]
        ramp = self.value["speaking_ramp"]
        w = np.clip((state.voice.speaking_probability - threshold) / ramp, 0.0, 1.0)
        return float(w * w * (3 - 2 * w) * np.clip(state.voice.viseme_conf, 0.0, 1.0))  # smoothstep

    def step(self, state: FusedState, dt_s: float) -> StrategyOutput:
        accent = self.value["accent"]
        presets = _presets_of(state.emotion)
        presets[EXPRESSION_PRESETS.index("neutral")] = 0.0
        out = self._base(state)
        arkit = _unit(state.face.blendshapes + accent * (PRESET_TO_ARKIT @ presets))
        if state.face.present:  # a sobbing face's lips read as a smile: no grin while it cries
            arkit[SMILE] *= 1.0 - distress(state.face.action_units)
        # While speaking the voice takes the mouth; with no face to show it has it whole.
        w = 1.0 if self._voice_only(state) else self.speech_weight(state)
        if w > 0.0:
            if self._voice_only(state) and not self.context.rig_has_visemes:
                arkit = self._voice_mouth(state, arkit, w)
            elif self._voice_only(state):  # the viseme targets shape the mouth instead
                arkit = np.where(MOUTH, 0.0, arkit)
            else:  # channel-wise: the visemes open and round the mouth, the face keeps its expression
                voice = None if self.context.rig_has_visemes else spoken_mouth(state.voice.visemes)
                arkit = compose_mouth(arkit, voice, w)
            out[VIS] *= w
        else:
            out[VIS] = 0.0
        out[ARKIT] = arkit
        out[AU] = action_units(arkit) if self.context.rig_reads_aus and w > 0.0 else state.face.action_units
        out[PRESET] = accent * presets
        result = StrategyOutput(out)
        _style(presets, result, accent)
        return result


STRATEGIES: dict[str, type[Strategy]] = {s.name: s for s in (Direct, AuLinear, EmotionPreset, Hybrid)}
# What a session gets when it names none. Chosen with the A/B metrics on a real face with real
# speech (bench/default_strategy.py, docs/strategies.md#the-default): with a camera and a
# microphone, hybrid's mouth follows speech in 93 % of frames against direct's 42 %, without
# more jitter or clipping and with the same expressiveness elsewhere on the face.
DEFAULT_STRATEGY = Hybrid.name


def make_strategy(name: str, context: StrategyContext, params: dict[str, Any] | None = None) -> Strategy:
    try:
        cls = STRATEGIES[name]
    except KeyError:
        raise ValueError(f"unknown strategy {name!r}; available: {sorted(STRATEGIES)}") from None
    return cls(context, params)
