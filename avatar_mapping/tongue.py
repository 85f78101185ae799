"""tongueOut from the voice: MediaPipe never reports it (its blendshape stays near 0), but
speech shows the tongue tip — between the teeth for TH, behind the upper teeth for DD and nn
(t, d, n, l) — and only while the mouth is open enough to see it.

From one viseme distribution (the 15 Oculus visemes, as the voice stage gives them) and how
open the mouth is (jawOpen, or the open-mouth visemes when no face says it):

    tongueOut = clip(TH_WEIGHT·TH + TIP_WEIGHT·(DD + nn)) · clip(open / OPEN_AT)

Pure; the mapper takes the larger of this and what the face says.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .vocabulary import VISEME_INDEX

TH_WEIGHT = 0.9
TIP_WEIGHT = 0.3
OPEN_AT = 0.15  # jawOpen from which the tongue can be seen at full strength
_OPEN_VISEMES = [VISEME_INDEX[v] for v in ("aa", "E", "I", "O", "U", "TH")]


def tongue_out(visemes: NDArray[np.float64], jaw_open: float = 0.0) -> float:
    v = np.clip(np.asarray(visemes, dtype=np.float64), 0.0, 1.0)
    tip = TH_WEIGHT * v[VISEME_INDEX["TH"]] + TIP_WEIGHT * (v[VISEME_INDEX["DD"]] + v[VISEME_INDEX["nn"]])
    opening = max(float(jaw_open), float(v[_OPEN_VISEMES].sum()))
    return float(min(1.0, tip) * min(1.0, opening / OPEN_AT))
