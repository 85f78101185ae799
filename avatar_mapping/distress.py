"""How much a face looks like crying rather than laughing, from its action units. Pure.

Sobbing squeezes the eyes shut and stretches or presses the lips, and MediaPipe reads those
lips as a smile (mouthSmile 0.48-0.95 on a crying face, issue 25 item 4). The smile alone
cannot tell the two apart; what does (EMFACS, Ekman & Friesen):

* grief brows: the inner brows raised (AU01) *and* drawn together and down (AU04) at once,
  the oblique "omega" brow of distress. Laughing does not raise the inner brows;
* lips pressed (AU24) or corners pulled down (AU15), as a crying mouth fights itself. A
  laughing mouth is open or simply smiling;
* eyes shut (AU43): both laughing and crying squeeze them, so on its own it says nothing;
  with pressed lips or grief brows it does.

``distress`` is 0 for a smile or a laugh and rises to 1 for a sobbing face. The hybrid
strategy takes the smile away by it, and the AU prototypes take it away from "happy".
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .vocabulary import AU_INDEX

_AU01, _AU04, _AU15, _AU24, _AU43 = (AU_INDEX[a] for a in ("AU01", "AU04", "AU15", "AU24", "AU43"))
# Where each cue starts and where it is fully there (AU intensity, calibrated 0..1).
GRIEF_BROWS = (0.08, 0.3)  # min(AU01, AU04)
LIPS_PRESSED = (0.2, 0.5)  # max(AU24, AU15); a closed-lip smile reads AU24 ~0.15-0.22
EYES_SHUT = (0.35, 0.7)  # AU43
# Grief brows with neither eyes shut nor lips pressed (a worried smile): half the effect.
BROWS_ALONE = 0.5


def _ramp(x: float, edges: tuple[float, float]) -> float:
    t = min(max((x - edges[0]) / (edges[1] - edges[0]), 0.0), 1.0)
    return t * t * (3.0 - 2.0 * t)


def distress(aus: NDArray[np.float64]) -> float:
    """0 (a smile, a laugh, a resting face) .. 1 (crying) from AU intensities (ACTION_UNITS order)."""
    brows = _ramp(float(min(aus[_AU01], aus[_AU04])), GRIEF_BROWS)
    lips = _ramp(float(max(aus[_AU24], aus[_AU15])), LIPS_PRESSED)
    eyes = _ramp(float(aus[_AU43]), EYES_SHUT)
    return max(brows * max(eyes, lips, BROWS_ALONE), eyes * lips)
