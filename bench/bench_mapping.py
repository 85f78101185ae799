"""Benchmark of the mapping layer. Prints one JSON object; not a test.

1. Time per output frame of mapping + smoothing (calibration, fusion, strategy, rig,
   filters, bones) for every strategy on several rigs, at a 60 Hz output clock fed by
   30 fps features (new features every other tick, as live).
2. Jitter on a still face: a real photo re-encoded as JPEG with sub-pixel shifts, tracked
   by the real face model, mapped by every strategy; mean absolute frame-to-frame change
   as % of range (target < 5 %).

Usage: python bench/bench_mapping.py [--frames 3000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from skimage import data

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from avatar_mapping.features import EyeGaze, FaceFeatures, HeadPose
from avatar_mapping.mapper import AvatarMapper
from avatar_mapping.rig import RigDefinition
from avatar_mapping.smoothing import jitter_percent
from avatar_mapping.strategies import STRATEGIES
from server.assets.rig_inspect import inspect_file
from server.assets.rig_store import RigStore
from server.assets.strategy_registry import StrategyRegistry
from server.inference.face import FaceTracker, FaceTrackerOptions
from server.inference.input_frame import Frame
from server.models.store import ModelStore
from server.settings import REPO_ROOT, Settings

AVATARS = REPO_ROOT.parent / "shared" / "avatars"


def rigs() -> dict[str, RigDefinition]:
    store = RigStore.from_dir(REPO_ROOT / "rigs")
    arkit52, simple = store.get("arkit52"), store.get("simple")
    assert arkit52 is not None and simple is not None  # shipped in rigs/
    out = {"arkit52": arkit52, "simple": simple}
    for name in ("brunette-t", "vroid"):
        path = AVATARS / f"{name}.glb"
        if path.is_file():
            out[name] = inspect_file(path)
    return out


def timing(rig: RigDefinition, strategy_name: str, registry: StrategyRegistry, frames: int) -> dict[str, float]:
    rng = np.random.default_rng(0)
    feats = [
        FaceFeatures.from_blendshapes(
            rng.random(52) * 0.6,
            i * 33,
            head=HeadPose(*rng.normal(0, 5, 3)),
            left_eye=EyeGaze(*rng.normal(0, 5, 2)),
            right_eye=EyeGaze(*rng.normal(0, 5, 2)),
        )
        for i in range(200)
    ]
    mapper = AvatarMapper(rig, strategy=registry.make(strategy_name, rig))
    times = []
    for i in range(frames):
        f = feats[(i // 2) % len(feats)]
        t0 = time.perf_counter()
        mapper.step(f, 1 / 60)
        times.append(time.perf_counter() - t0)
    t = np.array(times[100:]) * 1e6
    return {"p50_us": round(float(np.percentile(t, 50)), 1), "p95_us": round(float(np.percentile(t, 95)), 1)}


def still_face_features(model: Path, n: int = 150) -> list[FaceFeatures]:
    face = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    rng = np.random.default_rng(1)
    out = []
    with FaceTracker(FaceTrackerOptions(model, mode="video")) as tracker:
        for i in range(n):
            m = np.array([[1, 0, rng.normal(0, 0.3)], [0, 1, rng.normal(0, 0.3)]], np.float32)  # sub-pixel camera shake
            shaken = cv2.warpAffine(face, m, (512, 512), borderMode=cv2.BORDER_REFLECT)
            jpg = cv2.imdecode(cv2.imencode(".jpg", shaken, [cv2.IMWRITE_JPEG_QUALITY, 75])[1], cv2.IMREAD_COLOR)
            assert jpg is not None
            out.append(tracker.process(Frame(np.ascontiguousarray(cv2.cvtColor(jpg, cv2.COLOR_BGR2RGB)), i * 33)))
    return out


def jitter(
    rig: RigDefinition, strategy_name: str, registry: StrategyRegistry, feats: list[FaceFeatures]
) -> dict[str, float]:
    mapper = AvatarMapper(rig, strategy=registry.make(strategy_name, rig))
    frames = np.array([mapper.step(feats[i // 2], 1 / 60).weights for i in range(2 * len(feats))])[60:]
    raw = np.array([f.blendshapes for f in feats])
    j = jitter_percent(frames, np.maximum(mapper._compiled.hi - mapper._compiled.lo, 1e-9))
    return {
        "mean_pct": round(float(j.mean()), 3),
        "max_channel_pct": round(float(j.max()), 3),
        "unsmoothed_tracker_mean_pct": round(float(jitter_percent(raw).mean()), 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=3000)
    args = ap.parse_args()
    registry = StrategyRegistry(REPO_ROOT / "rigs")
    model = ModelStore(Settings().models).require("face_landmarker")
    still = still_face_features(model)
    result: dict[str, Any] = {"per_frame": {}, "still_face_jitter": {}}
    for rig_id, rig in rigs().items():
        result["per_frame"][rig_id] = {"channels": len(rig.channels)}
        result["still_face_jitter"][rig_id] = {}
        for name in sorted(STRATEGIES):
            result["per_frame"][rig_id][name] = timing(rig, name, registry, args.frames)
            result["still_face_jitter"][rig_id][name] = jitter(rig, name, registry, still)
    worst = max(v["p95_us"] for r in result["per_frame"].values() for k, v in r.items() if k != "channels")
    result["targets"] = {
        "mapping_plus_smoothing_p95_le_100us_all": worst <= 100.0,
        "worst_p95_us": worst,
        "still_face_jitter_lt_5pct_all": all(
            v["mean_pct"] < 5.0 for r in result["still_face_jitter"].values() for v in r.values()
        ),
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
