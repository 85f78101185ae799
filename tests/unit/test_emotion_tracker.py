import numpy as np
import numpy.typing as npt

from avatar_mapping.emotion_tracker import EmotionTracker
from avatar_mapping.vocabulary import EMOTIONS


def p(**named: float) -> npt.NDArray[np.float64]:
    v = np.zeros(len(EMOTIONS))
    for k, x in named.items():
        v[EMOTIONS.index(k)] = x
    return v


def test_near_ties_do_not_flicker() -> None:
    t = EmotionTracker()
    tops = []
    for i in range(120):  # happy and neutral alternate slightly ahead of each other
        probs = p(happy=0.48, neutral=0.52) if i % 2 else p(happy=0.52, neutral=0.48)
        tops.append(t.update(probs, 1.0, 1 / 30))
    assert len(set(tops[5:])) == 1


def test_a_clear_change_switches_after_the_hold() -> None:
    t = EmotionTracker(tau_s=0.05, hold_s=0.3)
    for _ in range(30):
        t.update(p(neutral=0.9, sad=0.1), 1.0, 1 / 30)
    assert t.top == "neutral"
    switched_at = None
    for i in range(60):
        if t.update(p(happy=0.9, neutral=0.1), 1.0, 1 / 30) == "happy" and switched_at is None:
            switched_at = (i + 1) / 30
    assert switched_at is not None and 0.3 <= switched_at <= 0.6


def test_low_confidence_is_ignored() -> None:
    t = EmotionTracker()
    t.update(p(sad=1.0), 1.0, 1 / 30)
    for _ in range(100):
        assert t.update(p(angry=1.0), 0.2, 1 / 30) == "sad"


def test_observe_takes_a_mapped_state_and_skips_states_without_emotion() -> None:
    from avatar_mapping.features import FaceFeatures
    from avatar_mapping.fused import FusedState

    t = EmotionTracker()
    assert t.observe(None, 0.1) is None
    assert t.observe(FusedState(FaceFeatures.absent(0)), 0.1) is None  # nothing known: no update
    happy = np.zeros(len(EMOTIONS))
    happy[EMOTIONS.index("happy")] = 1.0
    assert t.observe(FusedState(FaceFeatures.absent(0), emotion_scores=happy), 0.1) == "happy"
