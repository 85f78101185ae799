"""Benchmark of the face path. Prints one JSON object; not a test.

1. Stages in-process on a 640x480 video made from a real photo (moving, tilting face):
   decode (JPEG -> RGB), inference (FaceLandmarker VIDEO mode + feature extraction),
   mapping (rig curves + One Euro + bones), encode (CBOR, named and packed).
2. Live: a real uvicorn server on loopback, one session fed 30 fps JPEG frames over
   WebSocket; the client measures capture -> first avatar_frame computed from that
   frame received (an upper bound of the server's frame-received -> frame-sent time),
   and the achieved output rate.

Usage: python bench/bench_pipeline.py [--seconds 10] [--rate-hz 60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import threading
import time
from pathlib import Path
from typing import Any

import cbor2
import cv2
import numpy as np
from skimage import data

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from avatar_mapping.mapper import AvatarMapper
from server.assets.rig_store import RigStore
from server.inference.face import FaceTracker, FaceTrackerOptions
from server.inference.input_frame import decode_image
from server.models.store import ModelStore
from server.protocol import envelopes
from server.settings import REPO_ROOT, Settings
from tests.support.sockets import free_tcp_port

W, H, FPS = 640, 480, 30


def video_frames(n: int) -> list[bytes]:
    """640x480 JPEGs of the astronaut photo, moving and tilting."""
    face = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    out = []
    for i in range(n):
        m = cv2.getRotationMatrix2D((215, 150), 15 * np.sin(i / 15), 0.9)
        m[:, 2] += (60 + 30 * np.sin(i / 20), -20 + 10 * np.cos(i / 25))
        frame = cv2.warpAffine(face, m, (W, H), borderMode=cv2.BORDER_REFLECT)
        out.append(cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 80])[1].tobytes())
    return out


def pct(values: list[float]) -> dict[str, float]:
    a = np.array(values)
    return {
        "p50": round(float(np.percentile(a, 50)), 4),
        "p95": round(float(np.percentile(a, 95)), 4),
        "n": len(values),
    }


def stages(frames: list[bytes], model: Path, rig_id: str) -> dict[str, Any]:
    """Per-stage times; face inference includes the face-emotion CNN when it is fetched."""
    emotion_model = ModelStore(Settings().models).optional("face_emotion")
    rig = RigStore.from_dir(REPO_ROOT / "rigs").get(rig_id)
    assert rig is not None, rig_id
    mapper = AvatarMapper(rig)
    t: dict[str, list[float]] = {
        "decode_ms": [],
        "inference_ms": [],
        "mapping_ms": [],
        "encode_named_ms": [],
        "encode_packed_ms": [],
        "mapping_plus_encode_packed_ms": [],
    }
    sizes: dict[str, list[int]] = {"named": [], "packed": []}
    present = 0
    with FaceTracker(FaceTrackerOptions(model, mode="video", emotion_model=emotion_model)) as tracker:
        for i, jpg in enumerate(frames):
            t0 = time.perf_counter()
            frame = decode_image(jpg, i * 33, 1920 * 1080)
            t1 = time.perf_counter()
            features = tracker.process(frame)
            t2 = time.perf_counter()
            present += features.present
            for j in range(2):  # a 60 Hz output clock maps twice per 30 fps input frame
                m0 = time.perf_counter()
                out = mapper.step(features, 1 / 60)
                m1 = time.perf_counter()
                msg = envelopes.avatar_frame(out, "benchSession", int(time.time() * 1000), 2 * i + j)
                e0 = time.perf_counter()
                packed = msg.encoded("packed", "cbor")
                e1 = time.perf_counter()
                named = msg.encoded("named", "cbor")
                e2 = time.perf_counter()
                t["mapping_ms"].append((m1 - m0) * 1e3)
                t["encode_packed_ms"].append((e1 - e0) * 1e3)
                t["encode_named_ms"].append((e2 - e1) * 1e3)
                t["mapping_plus_encode_packed_ms"].append((m1 - m0 + e1 - e0 + (e0 - m1)) * 1e3)
                sizes["packed"].append(len(packed))
                sizes["named"].append(len(named))
            t["decode_ms"].append((t1 - t0) * 1e3)
            t["inference_ms"].append((t2 - t1) * 1e3)
    return {
        "rig": rig_id,
        "frames": len(frames),
        "face_found": present,
        **{k: pct(v) for k, v in t.items()},
        "bytes_per_frame": {k: {"min": min(v), "max": max(v)} for k, v in sizes.items()},
    }


async def live(frames: list[bytes], port: int, seconds: float, rate_hz: float, fmt: str) -> dict[str, Any]:
    import websockets

    sent_at: dict[int, float] = {}
    latencies: list[float] = []
    received: list[float] = []
    async with websockets.connect(f"ws://127.0.0.1:{port}/v1/stream", max_size=None) as ws:
        await ws.send(
            cbor2.dumps(
                {
                    "type": "hello",
                    "payload": {"consent": {"camera": True}, "rig": "arkit52", "format": fmt, "rate_hz": rate_hz},
                }
            )
        )
        welcome = cbor2.loads(await ws.recv(decode=False))
        assert welcome["type"] == "welcome", welcome

        async def sender() -> None:
            start = time.perf_counter()
            i = 0
            while time.perf_counter() - start < seconds:
                capture_ms = int(time.perf_counter() * 1000)
                sent_at[capture_ms] = time.perf_counter()
                await ws.send(
                    cbor2.dumps(
                        {"type": "video_frame", "payload": {"image": frames[i % len(frames)], "capture_ms": capture_ms}}
                    )
                )
                i += 1
                await asyncio.sleep(max(0.0, start + i / FPS - time.perf_counter()))

        async def receiver() -> None:
            seen = set()
            while True:
                m = cbor2.loads(await ws.recv(decode=False))
                now = time.perf_counter()
                if m.get("type") == "error":
                    raise RuntimeError(m["payload"])
                is_frame = m.get("type") == "avatar_frame" or m.get(0) == 1
                if not is_frame:
                    continue
                received.append(now)
                capture = m["payload"]["capture_ms"] if "type" in m else m[4].get(6)
                if (
                    capture in sent_at
                    and capture not in seen
                    and (m["payload"]["face_present"] if "type" in m else m[4][5])
                ):
                    seen.add(capture)
                    latencies.append((now - sent_at[capture]) * 1e3)

        rx = asyncio.create_task(receiver())
        await sender()
        await asyncio.sleep(0.2)
        rx.cancel()
    span = received[-1] - received[0]
    return {
        "format": fmt,
        "requested_rate_hz": rate_hz,
        "input_fps": FPS,
        "achieved_output_hz": round((len(received) - 1) / span, 2),
        "frames_sent": len(sent_at),
        "frames_with_a_frame_back": len(latencies),
        "capture_to_avatar_frame_received_ms": pct(latencies),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--rate-hz", type=float, default=60.0)
    args = ap.parse_args()
    settings = Settings()
    model = ModelStore(settings.models).require("face_landmarker")
    frames = video_frames(FPS * 4)
    result: dict[str, Any] = {
        "machine": {
            "cpu_count": __import__("os").cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "stages": stages(frames, model, "arkit52"),
    }

    import uvicorn

    from server.app import create_app

    port = free_tcp_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    result["live"] = [asyncio.run(live(frames, port, args.seconds, args.rate_hz, fmt)) for fmt in ("packed", "named")]
    server.should_exit = True
    thread.join(5)
    s = result["stages"]
    result["targets"] = {
        "inference_p50_le_15ms": s["inference_ms"]["p50"] <= 15.0,
        "mapping_plus_encode_p95_le_0.2ms": s["mapping_plus_encode_packed_ms"]["p95"] <= 0.2,
        "frame_to_avatar_frame_p50_le_22ms_p95_le_30ms": all(
            r["capture_to_avatar_frame_received_ms"]["p50"] <= 22.0
            and r["capture_to_avatar_frame_received_ms"]["p95"] <= 30.0
            for r in result["live"]
        ),
        "packed_le_200_bytes": s["bytes_per_frame"]["packed"]["max"] <= 200,
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
