"""Benchmark: A/B replay speed on a 60 s, 60 Hz synthetic recording (every tick a new face
and voice sample). Prints JSON; target >= 50x real time (3000 frames/s).

Usage: python bench/bench_replay.py
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from avatar_mapping.features import FaceFeatures, HeadPose
from avatar_mapping.voice_features import VoiceFeatures
from server.assets.rig_store import RigStore
from server.assets.strategy_registry import StrategyRegistry
from server.protocol.recording import Recorder, Recording, new_header
from server.settings import REPO_ROOT
from server.tools.ab_replay import Variant, replay

SECONDS, RATE = 60, 60.0


def main() -> None:
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.cborseq"
        rec = Recorder(path.open("wb"), new_header("arkit52", "direct", {}, None, RATE, "bench"))
        for k in range(int(SECONDS * RATE)):
            t = k / RATE
            face = FaceFeatures.from_blendshapes(
                np.clip(0.3 + 0.3 * np.sin(t + np.arange(52)) + rng.normal(0, 0.02, 52), 0, 1),
                int(1000 * t),
                head=HeadPose(*rng.normal(0, 5, 3)),
            )
            voice = VoiceFeatures(True, int(1000 * t), float(t % 4 < 2), np.eye(15)[k % 15], 0.8)
            rec.write(1000 * t, face, voice)
        rec.close()
        recording = Recording.read(path)
    rig = RigStore.from_dir(REPO_ROOT / "rigs", Path(tmp) / "none").get("arkit52")
    assert rig is not None  # shipped in rigs/
    registry = StrategyRegistry(REPO_ROOT / "rigs")
    out = {}
    for name in ("direct", "hybrid", "emotion_preset", "au_linear"):
        t0 = time.perf_counter()
        r = replay(recording, Variant.parse(name), rig, registry)
        elapsed = time.perf_counter() - t0
        fps = len(r.frames) / elapsed
        out[name] = {
            "frames": len(r.frames),
            "seconds": round(elapsed, 3),
            "frames_per_s": round(fps),
            "x_real_time": round(fps / RATE, 1),
        }
    print(
        json.dumps(
            {
                "recording_s": SECONDS,
                "rate_hz": RATE,
                "replay": out,
                "targets": {"x_real_time_ge_50": all(v["x_real_time"] >= 50 for v in out.values())},
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
