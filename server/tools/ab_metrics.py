"""What makes one mapping strategy's output better than another's: metrics on a replayed
stream. Pure NumPy; definitions in docs/ab-testing.md.

Inputs: output weights (frames × channels) at a fixed rate, the channel names, and the
recording's inputs on the same clock (ARKit blendshapes, speaking probability) plus the
reported top emotion per frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np

from avatar_mapping.vocabulary import ARKIT_BLENDSHAPES

# Expressiveness groups: channel-name prefixes.
GROUPS: dict[str, tuple[str, ...]] = {
    "brows": ("brow",),
    "eyes": ("eye",),
    "cheeks": ("cheek", "nose"),
    "mouth": ("mouth",),
    "jaw": ("jaw",),
    "visemes": ("viseme_",),
    "presets": ("preset_",),
}
JITTER_TARGET_PERCENT = 5.0  # the design card's target
MAX_LAG_MS = 300.0
SATURATION_EPS = 1e-3
MOUTH_OPEN = 0.1
SPEAKING = 0.5
# Expression channels for "expression kept while speaking": what the face says beside the
# words (smile, frown, brows, cheeks, nose), and how strongly a channel must be shown on the
# input to count.
EXPRESSION_PREFIXES = ("mouthSmile", "mouthFrown", "mouthDimple", "brow", "cheekSquint", "noseSneer")
EXPRESSED = 0.2


@dataclass(frozen=True)
class StreamMetrics:
    jitter_percent: float  # mean |frame-to-frame change| as % of each moving channel's range
    jitter_below_target: bool
    added_latency_ms: float | None  # lag of output behind input (cross-correlation), median over channels
    expressiveness: dict[str, dict[str, float]]  # group -> dynamic range, activity per second
    mouth_speech: dict[str, float] | None  # correlation and agreement of mouth opening with speaking
    saturation_share: float  # share of (frame, moving channel) pairs pinned at 0 or 1
    emotion_switches_per_min: float | None
    # Share of the face's expression (smile, frown, brows, ...) the avatar still shows while the user speaks.
    expression_kept_while_speaking: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def jitter_percent(weights: np.ndarray) -> float:
    """Mean absolute frame-to-frame change of each channel that moves, as a % of its range."""
    if len(weights) < 2:
        return 0.0
    rng = weights.max(axis=0) - weights.min(axis=0)
    moving = rng > 1e-6
    if not moving.any():
        return 0.0
    steps = np.abs(np.diff(weights[:, moving], axis=0)).mean(axis=0)
    return float(100.0 * np.mean(steps / rng[moving]))


def lag_ms(x: np.ndarray, y: np.ndarray, rate_hz: float, max_lag_ms: float = MAX_LAG_MS) -> float | None:
    """How many ms y trails x: the lag (>= 0) maximising the correlation of their changes.
    None when either signal does not move."""
    dx, dy = np.diff(x), np.diff(y)
    if dx.std() < 1e-9 or dy.std() < 1e-9:
        return None
    dx, dy = (dx - dx.mean()) / dx.std(), (dy - dy.mean()) / dy.std()
    best, best_lag = -np.inf, 0
    for lag in range(0, int(max_lag_ms * rate_hz / 1000.0) + 1):
        n = len(dx) - lag
        if n < 8:
            break
        c = float(np.dot(dx[:n], dy[lag : lag + n]) / n)
        if c > best:
            best, best_lag = c, lag
    return 1000.0 * best_lag / rate_hz if best > 0.2 else None


def added_latency_ms(
    weights: np.ndarray, channels: tuple[str, ...], inputs: np.ndarray, rate_hz: float
) -> float | None:
    """Median lag over the output channels that are ARKit channels of the input and move."""
    lags = []
    for j, name in enumerate(channels):
        if name in ARKIT_BLENDSHAPES:
            lag = lag_ms(inputs[:, ARKIT_BLENDSHAPES.index(name)], weights[:, j], rate_hz)
            if lag is not None:
                lags.append(lag)
    return float(np.median(lags)) if lags else None


def expressiveness(weights: np.ndarray, channels: tuple[str, ...], rate_hz: float) -> dict[str, dict[str, float]]:
    out = {}
    for group, prefixes in GROUPS.items():
        idx = [j for j, c in enumerate(channels) if c.startswith(prefixes)]
        if not idx or len(weights) < 2:
            continue
        w = weights[:, idx]
        dynamic = np.percentile(w, 95, axis=0) - np.percentile(w, 5, axis=0)
        activity = np.abs(np.diff(w, axis=0)).sum(axis=0) * rate_hz / (len(w) - 1)
        out[group] = {"dynamic_range": float(dynamic.mean()), "activity_per_s": float(activity.mean())}
    return out


def mouth_opening(weights: np.ndarray, channels: tuple[str, ...]) -> np.ndarray | None:
    """How open the avatar's mouth is: the larger of `jawOpen` and the summed non-silent
    visemes (on a rig with viseme targets a strategy may open the mouth through those alone)."""
    parts = []
    if "jawOpen" in channels:
        parts.append(weights[:, channels.index("jawOpen")])
    speech = [j for j, c in enumerate(channels) if c.startswith("viseme_") and c != "viseme_sil"]
    if speech:
        parts.append(np.minimum(weights[:, speech].sum(axis=1), 1.0))
    return np.max(parts, axis=0) if parts else None


def mouth_speech(weights: np.ndarray, channels: tuple[str, ...], speaking: np.ndarray) -> dict[str, float] | None:
    mouth = mouth_opening(weights, channels)
    if mouth is None or speaking.std() < 1e-9:
        return None
    corr = float(np.corrcoef(mouth, speaking)[0, 1]) if mouth.std() > 1e-9 else 0.0
    agree = float(np.mean((mouth > MOUTH_OPEN) == (speaking > SPEAKING)))
    return {"correlation": corr, "agreement": agree}


def expression_kept_while_speaking(
    weights: np.ndarray, channels: tuple[str, ...], inputs: np.ndarray, speaking: np.ndarray
) -> float | None:
    """Over the frames where the user speaks, for each expression channel the input shows
    (>= EXPRESSED): the share of it the output keeps, sum(min(output, input)) / sum(input),
    over all such (frame, channel) pairs. 1 = every smile and frown stays while speaking;
    a strategy that hands the whole mouth to the visemes drops the smile towards 0. None
    without speech or without an expression to keep."""
    talking = speaking > SPEAKING
    kept = shown = 0.0
    for j, name in enumerate(channels):
        if name.startswith(EXPRESSION_PREFIXES) and name in ARKIT_BLENDSHAPES:
            x = inputs[talking, ARKIT_BLENDSHAPES.index(name)]
            on = x >= EXPRESSED
            kept += float(np.minimum(weights[talking, j][on], x[on]).sum())
            shown += float(x[on].sum())
    return kept / shown if shown > 0 else None


def saturation_share(weights: np.ndarray) -> float:
    moving = (weights.max(axis=0) - weights.min(axis=0)) > 1e-6
    if not moving.any():
        return 0.0
    w = weights[:, moving]
    return float(np.mean((w <= SATURATION_EPS) | (w >= 1.0 - SATURATION_EPS)))


def switches_per_min(top: Sequence[str | None], rate_hz: float) -> float | None:
    known = [t for t in top if t is not None]
    if len(known) < 2:
        return None
    switches = sum(a != b for a, b in pairwise(known))
    return 60.0 * switches / (len(top) / rate_hz)


def stream_metrics(
    weights: np.ndarray,
    channels: tuple[str, ...],
    rate_hz: float,
    inputs: np.ndarray,
    speaking: np.ndarray,
    top_emotions: list[str | None],
) -> StreamMetrics:
    j = jitter_percent(weights)
    return StreamMetrics(
        j,
        j < JITTER_TARGET_PERCENT,
        added_latency_ms(weights, channels, inputs, rate_hz),
        expressiveness(weights, channels, rate_hz),
        mouth_speech(weights, channels, speaking),
        saturation_share(weights),
        switches_per_min(top_emotions, rate_hz),
        expression_kept_while_speaking(weights, channels, inputs, speaking),
    )
