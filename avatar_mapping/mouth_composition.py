"""How a speaking face and its voice share the mouth, channel by channel. Pure.

Visemes say how open and how round the mouth is; they say nothing about whether the person
smiles or frowns. So while the voice takes the mouth (weight ``w``), only the *articulation*
channels (jaw opening, lip rounding, pressing, rolling, stretching, the tongue) go over to
the visemes; the *expression* channels (smile, frown, dimple, chin, cheeks, sideways jaw)
stay with the face. Before this split every mouth channel was handed over, and a broad smile
fell from 0.93 to 0.11 on every syllable (issue 25, item 3).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .vocabulary import ARKIT_BLENDSHAPES

# Lower face channels the visemes shape (docs/strategies.md#speaking-priority-hybrid).
ARTICULATION_NAMES = (
    "jawOpen",
    "mouthClose",
    "mouthFunnel",
    "mouthPucker",
    "mouthPressLeft",
    "mouthPressRight",
    "mouthRollLower",
    "mouthRollUpper",
    "mouthLowerDownLeft",
    "mouthLowerDownRight",
    "mouthUpperUpLeft",
    "mouthUpperUpRight",
    "mouthStretchLeft",
    "mouthStretchRight",
    "tongueOut",
)
ARTICULATION = np.array([n in ARTICULATION_NAMES for n in ARKIT_BLENDSHAPES])
# The rest of the lower face: what the face keeps while speaking.
EXPRESSION = np.array(
    [n.startswith(("jaw", "mouth", "tongue", "cheekPuff")) and n not in ARTICULATION_NAMES for n in ARKIT_BLENDSHAPES]
)


def compose_mouth(face: NDArray[np.float64], voice: NDArray[np.float64] | None, w: float) -> NDArray[np.float64]:
    """The ARKit vector of a face while its voice holds the mouth by ``w`` (0..1).

    ``voice``: the ARKit mouth of the spoken visemes (None on a rig with viseme targets,
    whose own viseme shapes then articulate and the ARKit articulation rests by ``w``).
    Articulation channels become ``(1 - w)·face + w·voice``; expression channels keep the
    face, raised to ``w·voice`` where a viseme carries a little expression itself (the "E"
    smile), never lowered.
    """
    if w <= 0.0:
        return face
    spoken = np.zeros_like(face) if voice is None else voice
    out = np.where(ARTICULATION, (1.0 - w) * face + w * spoken, face)
    if voice is not None:
        out = np.where(EXPRESSION, np.maximum(face, w * voice), out)
    return out
