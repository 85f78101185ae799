"""Which strategy should be the default for a camera and a microphone? Prints JSON; not a test.

The A/B metrics (server/tools/ab_metrics.py) of every strategy, replayed on the default rig
from recordings of a real face and real speech:

* ``talking``: a real photo (scikit-image's astronaut) whose jaw drops with the loudness of
  real read speech (Debian's pocketsphinx-testdata LibriVox recordings, 1.5 s pauses between
  them), tilting a little, at 30 fps: the camera sees the mouth move with the voice.
* ``mouth_unseen``: the same speech with the face still (smiling, mouth closed): the camera
  does not see the mouth speak (a microphone in front of it, a low-light webcam, a hand).

Each recording goes through the real face model and the real voice pipeline (`avatar-driver
record`), then through each strategy (`ab replay`). The choice (``decision``) is the strategy
whose mouth follows speech best (mean `mouth_speech.agreement` over both recordings) among
those that keep the design card's jitter target, clip no more than `direct` (+0.05: the share
of moving channels pinned at 1, a saturated smile; `saturation_share` also counts channels
resting at 0, which every viseme does between words) and keep at least 80 % of `direct`'s
expressiveness outside the mouth.

Usage: python bench/default_strategy.py [--keep DIR]   (needs `apt install pocketsphinx-testdata`)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import wave
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from skimage import data

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from server.assets.rig_store import RigStore
from server.assets.strategy_registry import StrategyRegistry
from server.protocol.recording import Recording
from server.settings import REPO_ROOT, Settings
from server.tools.ab_replay import Variant, replay
from server.tools.analyze import AnalyzeOptions
from server.tools.record import record
from server.tools.train_visemes import LIBRIVOX

STRATEGIES = ("direct", "au_linear", "emotion_preset", "hybrid")
FPS, RATE_HZ, PAUSE_S = 30, 16000, 1.5
# The astronaut's mouth in scikit-image's 512x512 photo (MediaPipe landmarks 13/14, 61/291, 152).
MOUTH_Y, CHIN_Y, MOUTH_X, MOUTH_HALF_WIDTH = 146.0, 178.0, 223.0, 24.0
JAW_DROP_PX = 18.0  # at the loudest speech: MediaPipe reads jawOpen ~0.2 on it, as on real talkers
NON_MOUTH = ("brows", "eyes", "cheeks")


def speech() -> np.ndarray:
    """The LibriVox clips, 16 kHz float, with pauses between them."""
    parts = []
    for path in sorted(LIBRIVOX.glob("*.wav")):
        with wave.open(str(path)) as w:
            if w.getframerate() != RATE_HZ or w.getnchannels() != 1:
                raise SystemExit(f"{path}: expected 16 kHz mono")
            parts += [np.frombuffer(w.readframes(w.getnframes()), "<i2") / 32768.0, np.zeros(int(PAUSE_S * RATE_HZ))]
    if not parts:
        raise SystemExit(f"no recordings in {LIBRIVOX}: apt install pocketsphinx-testdata")
    return np.concatenate(parts)


def loudness_per_frame(audio: np.ndarray) -> np.ndarray:
    """0..1 per video frame: RMS over the frame, over the 95th percentile, lightly smoothed (a jaw
    does not follow every syllable's onset within 33 ms)."""
    hop = RATE_HZ // FPS
    rms = np.sqrt(np.array([np.mean(audio[i : i + hop] ** 2) for i in range(0, len(audio) - hop + 1, hop)]))
    level = np.clip(rms / np.percentile(rms, 95), 0.0, 1.0)
    return np.convolve(level, np.ones(3) / 3, mode="same")


def talking_face(face: np.ndarray, drop_px: float) -> np.ndarray:
    """The photo with the jaw dropped by ``drop_px``: lower lip, chin and jaw move down and the
    gap between the lips shows the dark of an open mouth."""
    h, w = face.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    across = np.clip(1.0 - ((xs - MOUTH_X) / (MOUTH_HALF_WIDTH * 2.2)) ** 2, 0, 1)
    below = np.clip((ys - MOUTH_Y) / 3.0, 0, 1) * np.clip(1.0 - (ys - CHIN_Y) / 40.0, 0, 1)
    out = cv2.remap(face, xs, ys - drop_px * across * below, cv2.INTER_LINEAR).astype(np.float32)
    if drop_px >= 1.0:
        lips = ((xs - MOUTH_X) / MOUTH_HALF_WIDTH) ** 2 + ((ys - MOUTH_Y - drop_px / 2) / (drop_px / 2)) ** 2 < 1.0
        out[lips] = 0.3 * out[lips] + 0.7 * np.array([60.0, 20.0, 25.0])
    return out.astype(np.uint8)


def write_clip(path: Path, drops: np.ndarray) -> None:
    face = np.ascontiguousarray(data.astronaut())
    video = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), FPS, face.shape[1::-1])
    for i, drop in enumerate(drops):
        frame = talking_face(face, float(drop))
        tilt = cv2.getRotationMatrix2D((223, 150), 3 * np.sin(i / 25), 1.0)
        frame = cv2.warpAffine(frame, tilt, face.shape[1::-1], borderMode=cv2.BORDER_REFLECT)
        video.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    video.release()


def write_wav(path: Path, audio: np.ndarray) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE_HZ)
        w.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())


def metrics_of(recording: Path) -> dict[str, dict[str, Any]]:
    rec = Recording.read(recording)
    rig = RigStore.from_dir(REPO_ROOT / "rigs", recording.parent / "no-uploads").get("arkit52")
    assert rig is not None  # shipped in rigs/
    registry = StrategyRegistry(REPO_ROOT / "rigs")
    out = {}
    for name in STRATEGIES:
        result = replay(rec, Variant(name, {}), rig, registry)
        m, w = result.metrics, result.weights
        moving = (w.max(axis=0) - w.min(axis=0)) > 1e-6
        mouth = m.mouth_speech
        assert mouth is not None  # arkit52 has mouth channels and the speech has pauses
        out[name] = {
            "mouth_agreement": round(mouth["agreement"], 3),
            "mouth_correlation": round(mouth["correlation"], 3),
            "jitter_percent": round(m.jitter_percent, 2),
            "jitter_below_target": m.jitter_below_target,
            "added_latency_ms": m.added_latency_ms,
            "saturation_share": round(m.saturation_share, 3),
            "clipped_share": round(float(np.mean(w[:, moving] >= 0.999)) if moving.any() else 0.0, 3),
            "expressiveness_non_mouth": round(
                float(np.mean([m.expressiveness[g]["dynamic_range"] for g in NON_MOUTH if g in m.expressiveness])), 3
            ),
            "expressiveness_mouth": round(m.expressiveness.get("mouth", {}).get("dynamic_range", 0.0), 3),
        }
    return out


def decide(results: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    clips = list(results)
    direct = {c: results[c]["direct"] for c in clips}
    eligible, why_not = [], {}
    for name in STRATEGIES:
        rows = {c: results[c][name] for c in clips}
        if not all(r["jitter_below_target"] for r in rows.values()):
            why_not[name] = "jitter above the 5 % target"
        elif any(r["clipped_share"] > direct[c]["clipped_share"] + 0.05 for c, r in rows.items()):
            why_not[name] = "pins more channels at 1 than direct"
        elif any(r["expressiveness_non_mouth"] < 0.8 * direct[c]["expressiveness_non_mouth"] for c, r in rows.items()):
            why_not[name] = "damps the face outside the mouth"
        else:
            eligible.append(name)
    agreement = {n: round(float(np.mean([results[c][n]["mouth_agreement"] for c in clips])), 3) for n in STRATEGIES}
    best = max(eligible, key=lambda n: agreement[n]) if eligible else "direct"
    return {"default": best, "mean_mouth_agreement": agreement, "not_eligible": why_not}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keep", type=Path, help="keep the clips and recordings in this folder")
    args = parser.parse_args()
    audio = speech()
    loud = loudness_per_frame(audio)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        write_wav(folder / "speech.wav", audio)
        results = {}
        for clip, drops in (("talking", JAW_DROP_PX * loud), ("mouth_unseen", np.zeros_like(loud))):
            write_clip(folder / f"{clip}.mp4", drops)
            record(
                AnalyzeOptions(folder / f"{clip}.mp4", audio=folder / "speech.wav", rate_hz=60.0),
                Settings(),
                folder / f"{clip}.cborseq",
            )
            results[clip] = metrics_of(folder / f"{clip}.cborseq")
    print(
        json.dumps(
            {
                "speech_s": round(len(audio) / RATE_HZ, 1),
                "rig": "arkit52",
                "results": results,
                "decision": decide(results),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
