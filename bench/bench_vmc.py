"""VMC out: bytes and CPU per frame for each profile, against the packed avatar_frame of the
same frame measured in the same run; VMC in: CPU per frame to parse each profile's bundle with
our bounded parser (server/inference/osc_packet.py) and, for reference, python-osc's. Prints one
JSON object; not a test.

The frame is a real one: the astronaut photo through the face model and the mapper (arkit52).

Usage: python bench/bench_vmc.py [--frames 2000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
from pythonosc.osc_packet import OscPacket

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from avatar_mapping.avatar_frame import AvatarFrame
from avatar_mapping.mapper import AvatarMapper
from avatar_mapping.vmc import PROFILES
from server.assets.rig_store import RigStore
from server.inference.face import FaceTracker, FaceTrackerOptions
from server.inference.input_frame import frame_from_rgb
from server.inference.osc_packet import parse
from server.metrics import Metrics
from server.models.store import ModelStore
from server.protocol import envelopes
from server.settings import Settings
from server.sinks.vmc import VmcSink

REPO = Path(__file__).resolve().parents[1]


def real_frame() -> AvatarFrame:
    from skimage import data

    image = np.ascontiguousarray(data.astronaut())
    tracker = FaceTracker(FaceTrackerOptions(ModelStore(Settings().models).require("face_landmarker")))
    try:
        features = tracker.process(frame_from_rgb(image.tobytes(), image.shape[1], image.shape[0], 0, 1 << 22))
    finally:
        tracker.close()
    rig = RigStore.from_dir(REPO / "rigs").get("arkit52")
    assert rig is not None  # shipped in rigs/
    mapper = AvatarMapper(rig)
    frame = None
    for _ in range(30):
        frame = mapper.step(features, 1 / 30)
    assert frame is not None
    return frame


def per_frame_us(make: Callable[[], object], n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        make()
    return (time.perf_counter() - t0) / n * 1e6


def python_osc_parse(bundle: bytes) -> object:
    return OscPacket(bundle).messages


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=2000)
    args = ap.parse_args()
    frame = real_frame()

    def packed() -> bytes | str:
        return envelopes.avatar_frame(frame, "s", 0, 0).encoded("packed", "cbor")

    baseline = {"bytes": len(packed()), "us_per_frame": round(per_frame_us(packed, args.frames), 1)}
    results = {}
    for profile in PROFILES:
        sink = VmcSink(("127.0.0.1", 9), profile, Metrics())
        results[profile] = {
            "bytes": len(sink.bundle(frame)),
            "us_per_frame": round(per_frame_us(partial(sink.bundle, frame), args.frames), 1),
        }
        results[profile]["bytes_ratio_to_packed"] = round(results[profile]["bytes"] / baseline["bytes"], 1)
        results[profile]["cpu_ratio_to_packed"] = round(results[profile]["us_per_frame"] / baseline["us_per_frame"], 1)
        bundle = sink.bundle(frame)
        results[profile]["in_parse_us_per_frame"] = round(per_frame_us(partial(parse, bundle), args.frames), 1)
        results[profile]["in_python_osc_us_per_frame"] = round(
            per_frame_us(partial(python_osc_parse, bundle), args.frames), 1
        )
        sink.close()
    print(json.dumps({"config": vars(args), "packed_avatar_frame": baseline, "vmc": results}, indent=1))


if __name__ == "__main__":
    main()
