"""Action-unit intensities estimated from ARKit blendshapes.

MediaPipe gives no AUs of its own; these are the documented linear estimates used
by the whole project (table also in docs/face-tracking.md). Each AU is a weighted
mean of blendshapes, clipped to 0..1; two rows add a documented correction.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .vocabulary import ACTION_UNITS, ARKIT_BLENDSHAPES, ARKIT_INDEX, AU_INDEX

# AU -> {blendshape: weight}. Weights of a row sum to 1 (a mean) unless noted.
AU_FROM_BLENDSHAPES: dict[str, dict[str, float]] = {
    "AU01": {"browInnerUp": 1.0},
    "AU02": {"browOuterUpLeft": 0.5, "browOuterUpRight": 0.5},
    "AU04": {"browDownLeft": 0.5, "browDownRight": 0.5},
    "AU05": {"eyeWideLeft": 0.5, "eyeWideRight": 0.5},
    # AU06: MediaPipe's cheekSquint rarely leaves 0, so the Duchenne eye squint that
    # accompanies a smile is added below (eyeSquint x mouthSmile).
    "AU06": {"cheekSquintLeft": 0.5, "cheekSquintRight": 0.5},
    "AU07": {"eyeSquintLeft": 0.5, "eyeSquintRight": 0.5},
    "AU09": {"noseSneerLeft": 0.5, "noseSneerRight": 0.5},
    "AU10": {"mouthUpperUpLeft": 0.5, "mouthUpperUpRight": 0.5},
    "AU12": {"mouthSmileLeft": 0.5, "mouthSmileRight": 0.5},
    "AU14": {"mouthDimpleLeft": 0.5, "mouthDimpleRight": 0.5},
    "AU15": {"mouthFrownLeft": 0.5, "mouthFrownRight": 0.5},
    "AU17": {"mouthShrugLower": 1.0},
    "AU18": {"mouthPucker": 1.0},
    "AU20": {"mouthStretchLeft": 0.5, "mouthStretchRight": 0.5},
    "AU22": {"mouthFunnel": 1.0},
    "AU23": {"mouthPressLeft": 0.25, "mouthPressRight": 0.25, "mouthRollUpper": 0.25, "mouthRollLower": 0.25},
    "AU24": {"mouthPressLeft": 0.5, "mouthPressRight": 0.5},
    # AU25: lips part = the larger of jaw opening and lower-lip depression, minus
    # mouthClose (lips held together while the jaw is open).
    "AU25": {},
    "AU26": {"jawOpen": 1.0},
    "AU28": {"mouthRollUpper": 0.5, "mouthRollLower": 0.5},
    "AU34": {"cheekPuff": 1.0},
    "AU43": {"eyeBlinkLeft": 0.5, "eyeBlinkRight": 0.5},
    # AU45 (blink) has the same static appearance as AU43 (eyes closed); the two differ
    # only in duration, which a single frame cannot tell.
    "AU45": {"eyeBlinkLeft": 0.5, "eyeBlinkRight": 0.5},
}


def _weight_matrix() -> NDArray[np.float64]:
    weights = np.zeros((len(ACTION_UNITS), len(ARKIT_BLENDSHAPES)), dtype=np.float64)
    for au, row in AU_FROM_BLENDSHAPES.items():
        for name, w in row.items():
            weights[AU_INDEX[au], ARKIT_INDEX[name]] = w
    return weights


AU_WEIGHTS: NDArray[np.float64] = _weight_matrix()
_SQ = [ARKIT_INDEX["eyeSquintLeft"], ARKIT_INDEX["eyeSquintRight"]]
_SM = [ARKIT_INDEX["mouthSmileLeft"], ARKIT_INDEX["mouthSmileRight"]]
_LL = [ARKIT_INDEX["mouthLowerDownLeft"], ARKIT_INDEX["mouthLowerDownRight"]]
_JAW, _CLOSE = ARKIT_INDEX["jawOpen"], ARKIT_INDEX["mouthClose"]
_AU06, _AU25 = AU_INDEX["AU06"], AU_INDEX["AU25"]


def action_units(blendshapes: NDArray[np.float64]) -> NDArray[np.float64]:
    """AU intensities (order of ACTION_UNITS) from a 52-vector of ARKit weights."""
    b = np.asarray(blendshapes, dtype=np.float64)
    au = AU_WEIGHTS @ b
    sq, sm, ll = b[_SQ], b[_SM], b[_LL]
    au[_AU06] = max(au[_AU06], 0.5 * (sq[0] + sq[1]) * (sm[0] + sm[1]))  # 2 * mean(squint) * mean(smile)
    au[_AU25] = max(b[_JAW], 0.5 * (ll[0] + ll[1])) - b[_CLOSE]
    return np.minimum(np.maximum(au, 0.0), 1.0)
