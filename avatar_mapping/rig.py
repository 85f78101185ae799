"""Rig definitions: which avatar channels exist and how features drive them.

A rig is plain data (rigs/*.json). ``RigDefinition.from_dict`` validates it and
``compile`` turns it into the matrices the mapper evaluates every frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .vocabulary import BONES, CANONICAL_CHANNELS, CANONICAL_INDEX

# A rig reads the canonical channel vector: ARKit weights, AU intensities,
# viseme_<name> weights and preset_<name> weights (vocabulary.CANONICAL_CHANNELS).
INPUT_NAMES: tuple[str, ...] = CANONICAL_CHANNELS
_INPUT_INDEX = CANONICAL_INDEX
CURVES = ("linear", "sigmoid")
SMOOTHING_GROUPS = ("eyes", "brows", "mouth", "damped", "visemes", "presets")


class RigError(ValueError):
    """A rig definition that cannot be used, with the reason."""


EYE_LIMIT_SOURCES = ("vrm0", "vrm1", "default")
# Largest eye turn in degrees that keeps every test avatar's iris inside its eye white
# (VRoid rolls its irises out of sight past ~20 degrees up-and-out): used when a file has no
# VRM lookAt ranges. Conservative on purpose: a gaze a little short reads; a blank eye does not.
DEFAULT_EYE_YAW_IN_DEG = 12.0
DEFAULT_EYE_YAW_OUT_DEG = 14.0
DEFAULT_EYE_UP_DEG = 10.0
DEFAULT_EYE_DOWN_DEG = 12.0
# The eyeLook* morph weight allowed where an avatar also has eye bones: both move the iris, and
# the two together would double the gaze.
DEFAULT_EYE_LOOK_WEIGHT_MAX = 0.5


@dataclass(frozen=True)
class EyeLimits:
    """How far each eye may turn from rest, in degrees (all >= 0): toward the nose (`yaw_in`),
    toward the ear (`yaw_out`), `up` and `down`; and the largest eyeLook* morph weight
    (`look_weight_max`, 0..1). From the file's VRM lookAt ranges (`source` "vrm0"/"vrm1") or
    the conservative defaults ("default"). Conventions as `avatar_mapping/rotation.py`: yaw > 0
    turns an eye toward the avatar's own left (outward for the left eye), pitch > 0 down."""

    yaw_in: float = DEFAULT_EYE_YAW_IN_DEG
    yaw_out: float = DEFAULT_EYE_YAW_OUT_DEG
    up: float = DEFAULT_EYE_UP_DEG
    down: float = DEFAULT_EYE_DOWN_DEG
    look_weight_max: float = DEFAULT_EYE_LOOK_WEIGHT_MAX
    source: str = "default"

    @classmethod
    def from_dict(cls, rig_id: str, data: object) -> EyeLimits:
        if not isinstance(data, dict):
            raise RigError(f"rig {rig_id!r}: eye_limits must be an object")
        unknown = sorted(set(data) - {"yaw_in", "yaw_out", "up", "down", "look_weight_max", "source"})
        if unknown:
            raise RigError(f"rig {rig_id!r}: unknown eye_limits fields {unknown}")
        try:
            angles = {k: float(data.get(k, getattr(cls, k))) for k in ("yaw_in", "yaw_out", "up", "down")}
            look = float(data.get("look_weight_max", DEFAULT_EYE_LOOK_WEIGHT_MAX))
        except (TypeError, ValueError):
            raise RigError(f"rig {rig_id!r}: eye_limits must be numbers") from None
        if not all(np.isfinite(v) and 0.0 <= v <= 90.0 for v in angles.values()):
            raise RigError(f"rig {rig_id!r}: eye_limits angles must be within 0..90 degrees")
        if not (np.isfinite(look) and 0.0 <= look <= 1.0):
            raise RigError(f"rig {rig_id!r}: eye_limits look_weight_max must be within 0..1")
        source = data.get("source", "default")
        if source not in EYE_LIMIT_SOURCES:
            raise RigError(f"rig {rig_id!r}: eye_limits source must be one of {EYE_LIMIT_SOURCES}")
        return cls(**angles, look_weight_max=look, source=source)

    def to_dict(self) -> dict[str, Any]:  # JSON values
        return {
            "yaw_in": self.yaw_in,
            "yaw_out": self.yaw_out,
            "up": self.up,
            "down": self.down,
            "look_weight_max": self.look_weight_max,
            "source": self.source,
        }

    def clamp(self, eye: str, yaw_deg: float, pitch_deg: float) -> tuple[float, float]:
        """(yaw, pitch) of ``eye`` ("left_eye" or "right_eye") within the limits."""
        # Outward is toward the avatar's left for its left eye (yaw > 0), right for its right eye.
        lo, hi = (-self.yaw_in, self.yaw_out) if eye == "left_eye" else (-self.yaw_out, self.yaw_in)
        return min(max(yaw_deg, lo), hi), min(max(pitch_deg, -self.up), self.down)


@dataclass(frozen=True)
class MorphTarget:
    """One morph target of the avatar that a channel drives (a channel may drive several,
    e.g. the same-named target on head, teeth and eye meshes)."""

    mesh: str
    index: int
    weight: float = 1.0


@dataclass(frozen=True)
class ChannelSpec:
    """One output channel: weighted sum of inputs -> response curve -> gain/offset -> limits."""

    name: str
    sources: dict[str, float]
    curve: str = "linear"
    gain: float = 1.0
    offset: float = 0.0
    min: float = 0.0
    max: float = 1.0
    center: float = 0.5
    slope: float = 10.0
    smoothing: str = "mouth"
    targets: tuple[MorphTarget, ...] = ()


@dataclass(frozen=True)
class RigDefinition:
    id: str
    name: str
    channels: tuple[ChannelSpec, ...]
    # Canonical bone -> the avatar's node name.
    bones: dict[str, str] = field(default_factory=dict)
    # Share of the head rotation given to the neck bone; the head gets the rest.
    neck_share: float = 0.4
    description: str = ""
    # What `rig inspect` found and did not find (JSON values); informational.
    report: dict[str, Any] = field(default_factory=dict, compare=False)
    # How far the eyes may turn (absent: the defaults apply).
    eye_limits: EyeLimits = field(default_factory=EyeLimits)

    @property
    def channel_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.channels)

    @property
    def bone_names(self) -> tuple[str, ...]:
        return tuple(b for b in BONES if b in self.bones)

    @classmethod
    def from_dict(cls, data: object) -> RigDefinition:
        if not isinstance(data, dict):
            raise RigError("a rig definition must be a JSON object")
        for key in ("id", "channels"):
            if key not in data:
                raise RigError(f"rig definition has no {key!r}")
        rig_id = data["id"]
        if not isinstance(rig_id, str) or not rig_id or not rig_id.replace("-", "").replace("_", "").isalnum():
            raise RigError(f"rig id {rig_id!r} must be letters, digits, '-' or '_'")
        channels = tuple(_channel_from_dict(rig_id, c) for c in data["channels"])
        names = [c.name for c in channels]
        if len(set(names)) != len(names):
            raise RigError(f"rig {rig_id!r} has duplicate channel names")
        bones = dict(data.get("bones", {}))
        unknown = sorted(set(bones) - set(BONES))
        if unknown:
            raise RigError(f"rig {rig_id!r}: unknown bones {unknown}; known: {list(BONES)}")
        neck_share = float(data.get("neck_share", 0.4))
        if not 0.0 <= neck_share <= 1.0:
            raise RigError(f"rig {rig_id!r}: neck_share must be within 0..1")
        return cls(
            id=rig_id,
            name=str(data.get("name", rig_id)),
            channels=channels,
            bones=bones,
            neck_share=neck_share,
            description=str(data.get("description", "")),
            report=dict(data.get("report", {})),
            eye_limits=EyeLimits.from_dict(rig_id, data["eye_limits"]) if "eye_limits" in data else EyeLimits(),
        )

    def to_dict(self) -> dict[str, Any]:  # JSON values
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "channels": [_channel_to_dict(c) for c in self.channels],
            "bones": dict(self.bones),
            "neck_share": self.neck_share,
            **({"eye_limits": self.eye_limits.to_dict()} if self.eye_limits != EyeLimits() else {}),
            **({"report": self.report} if self.report else {}),
        }


def _channel_from_dict(rig_id: str, c: object) -> ChannelSpec:
    if not isinstance(c, dict) or "name" not in c or "from" not in c:
        raise RigError(f"rig {rig_id!r}: each channel needs 'name' and 'from'")
    sources = c["from"]
    if isinstance(sources, str):
        sources = {sources: 1.0}
    if not isinstance(sources, dict) or not sources:
        raise RigError(f"rig {rig_id!r}, channel {c['name']!r}: 'from' must name at least one input")
    unknown = sorted(s for s in sources if s not in _INPUT_INDEX)
    if unknown:
        raise RigError(
            f"rig {rig_id!r}, channel {c['name']!r}: unknown inputs {unknown} "
            "(use ARKit blendshape names, AU01..AU45, viseme_<viseme> or preset_<preset>)"
        )
    try:
        targets = tuple(
            MorphTarget(str(t["mesh"]), int(t["index"]), float(t.get("weight", 1.0))) for t in c.get("targets", ())
        )
    except (KeyError, TypeError, ValueError):
        raise RigError(f"rig {rig_id!r}, channel {c['name']!r}: targets need 'mesh' and 'index'") from None
    curve = c.get("curve", "linear")
    if curve not in CURVES:
        raise RigError(f"rig {rig_id!r}, channel {c['name']!r}: curve must be one of {CURVES}")
    smoothing = c.get("smoothing", _default_group(sources))
    if smoothing not in SMOOTHING_GROUPS:
        raise RigError(f"rig {rig_id!r}, channel {c['name']!r}: smoothing must be one of {SMOOTHING_GROUPS}")
    spec = ChannelSpec(
        name=str(c["name"]),
        sources={k: float(v) for k, v in sources.items()},
        curve=curve,
        gain=float(c.get("gain", 1.0)),
        offset=float(c.get("offset", 0.0)),
        min=float(c.get("min", 0.0)),
        max=float(c.get("max", 1.0)),
        center=float(c.get("center", 0.5)),
        slope=float(c.get("slope", 10.0)),
        smoothing=smoothing,
        targets=targets,
    )
    values = [spec.gain, spec.offset, spec.min, spec.max, spec.center, spec.slope, *spec.sources.values()]
    if not all(np.isfinite(values)) or spec.min > spec.max:
        raise RigError(f"rig {rig_id!r}, channel {spec.name!r}: numbers must be finite and min <= max")
    return spec


def _channel_to_dict(c: ChannelSpec) -> dict[str, Any]:  # JSON values
    out: dict[str, Any] = {"name": c.name, "from": dict(c.sources), "curve": c.curve}
    if c.curve == "sigmoid":
        out.update(center=c.center, slope=c.slope)
    out.update(gain=c.gain, offset=c.offset, min=c.min, max=c.max, smoothing=c.smoothing)
    if c.targets:
        out["targets"] = [
            {"mesh": t.mesh, "index": t.index, **({"weight": t.weight} if t.weight != 1.0 else {})} for t in c.targets
        ]
    return out


def _default_group(sources: dict[str, float]) -> str:
    names = " ".join(sources)
    if all(s.startswith("viseme_") for s in sources):
        return "visemes"
    if all(s.startswith("preset_") for s in sources):
        return "presets"
    if "eye" in names or "AU43" in names or "AU45" in names or "AU05" in names or "AU07" in names:
        return "eyes"
    if "brow" in names or "AU01" in names or "AU02" in names or "AU04" in names:
        return "brows"
    return "mouth"


@dataclass(frozen=True, eq=False)
class CompiledRig:
    """Matrices for evaluating all channels of a rig at once."""

    rig: RigDefinition
    weights: NDArray[np.float64]  # (channels, inputs)
    is_sigmoid: NDArray[np.bool_]
    center: NDArray[np.float64]
    slope: NDArray[np.float64]
    gain: NDArray[np.float64]
    offset: NDArray[np.float64]
    lo: NDArray[np.float64]
    hi: NDArray[np.float64]
    has_sigmoid: bool = False
    sigmoid_index: NDArray[np.intp] = field(default_factory=lambda: np.zeros(0, dtype=int))
    sigmoid_at_0: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    sigmoid_span: NDArray[np.float64] = field(default_factory=lambda: np.ones(0))

    def evaluate(self, inputs: NDArray[np.float64]) -> NDArray[np.float64]:
        """Channel values for one input vector (order of INPUT_NAMES)."""
        x = self.weights @ inputs
        if self.has_sigmoid:
            # A logistic curve rescaled so that 0 -> 0 and 1 -> 1: smooth onset, smooth top.
            i = self.sigmoid_index
            v = np.minimum(np.maximum(x[i], 0.0), 1.0)
            s = 1.0 / (1.0 + np.exp(-self.slope[i] * (v - self.center[i])))
            x[i] = (s - self.sigmoid_at_0) / self.sigmoid_span
        return np.minimum(np.maximum(self.gain * x + self.offset, self.lo), self.hi)


def compile_rig(rig: RigDefinition) -> CompiledRig:
    n = len(rig.channels)
    weights = np.zeros((n, len(INPUT_NAMES)))
    for i, c in enumerate(rig.channels):
        for name, w in c.sources.items():
            weights[i, _INPUT_INDEX[name]] = w

    def col(attr: str) -> NDArray[np.float64]:
        return np.array([getattr(c, attr) for c in rig.channels], dtype=np.float64)

    sig = np.flatnonzero([c.curve == "sigmoid" for c in rig.channels])
    k, c0 = col("slope")[sig], col("center")[sig]
    at_0, at_1 = 1.0 / (1.0 + np.exp(k * c0)), 1.0 / (1.0 + np.exp(-k * (1.0 - c0)))
    return CompiledRig(
        rig=rig,
        weights=weights,
        is_sigmoid=np.array([c.curve == "sigmoid" for c in rig.channels], dtype=bool),
        center=col("center"),
        slope=col("slope"),
        gain=col("gain"),
        offset=col("offset"),
        lo=col("min"),
        hi=col("max"),
        has_sigmoid=bool(len(sig)),
        sigmoid_index=sig,
        sigmoid_at_0=at_0,
        sigmoid_span=at_1 - at_0,
    )
