"""tongueOut from the voice (avatar_mapping/tongue.py): out for TH, a little for t/d/n/l, never
for closed-lip sounds; through the mapper on espeak-ng speech with espeak-ng's own phoneme
timing."""

import numpy as np

from avatar_mapping.features import FaceFeatures
from avatar_mapping.mapper import AvatarMapper
from avatar_mapping.tongue import tongue_out
from avatar_mapping.vocabulary import VISEME_INDEX, VISEMES
from avatar_mapping.voice_features import VoiceFeatures
from server.assets.rig_store import RigStore
from server.inference.espeak import speak
from tests.support.paths import REPO


def one(viseme: str) -> np.ndarray:
    v = np.zeros(len(VISEMES))
    v[VISEME_INDEX[viseme]] = 1.0
    return v


def test_th_shows_the_tongue_tip_sounds_a_little_closed_lips_never() -> None:
    assert tongue_out(one("TH")) > 0.8
    assert 0.2 < tongue_out(one("DD"), jaw_open=0.3) < 0.4
    assert tongue_out(one("DD"), jaw_open=0.0) == 0.0  # a closed mouth hides it
    for v in ("PP", "FF", "sil", "aa", "O"):
        assert tongue_out(one(v), jaw_open=0.5) == 0.0


def tongue_track(text: str) -> np.ndarray:
    """tongueOut of the default rig, every 10 ms, for the line as espeak-ng speaks it (no face)."""
    spoken = speak(text)
    t = np.arange(0, 1000 * len(spoken.audio) / spoken.rate_hz, 10.0)
    track = [one(spoken.viseme_at(ms)) for ms in t]
    rig = RigStore.from_dir(REPO / "rigs").get("arkit52")
    assert rig is not None
    mapper = AvatarMapper(rig)
    out = []
    for ms, v in zip(t, track, strict=True):
        frame = mapper.step(FaceFeatures.absent(int(ms)), 0.01, voice=VoiceFeatures(True, int(ms), 1.0, v, 1.0))
        out.append(frame.weights_by_name()["tongueOut"])
    return np.array(out)


def test_the_avatars_tongue_comes_out_on_th_words_and_stays_in_on_lip_words() -> None:
    th = tongue_track("Think of the thin thistles there.")
    lips = tongue_track("Mama may bob a big pea pod.")
    assert th.max() > 0.5 and (th > 0.3).mean() > 0.1
    assert lips.max() < th.max() / 2
