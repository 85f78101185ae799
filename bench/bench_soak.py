"""Soak: a real server (`avatar-driver serve`, its own process) under a steady load for a long
time — publishers sending a real face at 30 fps, many watchers — with its memory, file
descriptors, output rates and errors sampled as it goes. Prints one JSON object; not a test.

Flat means: RSS and fds end where they settled (the slope over the second half is near 0),
every session and watcher keeps its rate from the first interval to the last, no errors.

Usage: python bench/bench_soak.py [--minutes 10] [--sessions 2] [--watchers 50] [--fps 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cbor2
import numpy as np
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_pipeline import video_frames
from tests.support.sockets import free_tcp_port

REPO = Path(__file__).resolve().parents[1]
SAMPLE_S = 10.0


def start_server(settings: dict[str, str], prefix: str) -> tuple[subprocess.Popen[bytes], int]:
    """`avatar-driver serve` in its own process on a free port with a fresh data folder and
    these AVATAR_DRIVER_* settings, once it answers /healthz; and its port."""
    import urllib.request

    port = free_tcp_port()
    env = {
        **os.environ,
        "AVATAR_DRIVER_PORT": str(port),
        "AVATAR_DRIVER_DATA_DIR": tempfile.mkdtemp(prefix=prefix),
        "AVATAR_DRIVER_LOG_LEVEL": "warning",
        **settings,
    }
    server = subprocess.Popen([str(REPO / ".venv/bin/avatar-driver"), "serve"], env=env)
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    return server, port


def process_state(pid: int) -> tuple[float, int]:
    """(RSS in MiB, open file descriptors) of a process, from /proc."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss = re.search(r"VmRSS:\s+(\d+)", status)
    assert rss is not None, pid
    rss_kib = int(rss.group(1))
    return rss_kib / 1024.0, len(os.listdir(f"/proc/{pid}/fd"))


class Counter:
    def __init__(self) -> None:
        self.frames = 0
        self.errors: list[str] = []


async def publisher(
    port: int,
    frames: list[bytes],
    fps: float,
    rate_hz: float,
    stop: asyncio.Event,
    counter: Counter,
    ready: asyncio.Queue[str],
) -> None:
    async with websockets.connect(f"ws://127.0.0.1:{port}/v1/stream", max_size=None) as ws:
        await ws.send(
            cbor2.dumps(
                {"type": "hello", "payload": {"consent": {"camera": True}, "format": "packed", "rate_hz": rate_hz}}
            )
        )
        welcome = cbor2.loads(await ws.recv(decode=False))
        await ready.put(welcome["payload"]["session_id"])

        async def read() -> None:
            async for raw in ws:
                assert isinstance(raw, bytes)  # packed CBOR: binary frames
                m = cbor2.loads(raw)
                if m.get(0) == 1:
                    counter.frames += 1
                elif m.get("type") == "error":
                    counter.errors.append(m["payload"]["code"])

        reader = asyncio.create_task(read())
        start, i = time.monotonic(), 0
        while not stop.is_set():
            await ws.send(
                cbor2.dumps(
                    {
                        "type": "video_frame",
                        "payload": {"image": frames[i % len(frames)], "capture_ms": int(time.time() * 1000)},
                    }
                )
            )
            i += 1
            await asyncio.sleep(max(0.0, start + i / fps - time.monotonic()))
        await ws.send(cbor2.dumps({"type": "bye", "payload": {}}))
        reader.cancel()


async def watcher(port: int, session_id: str, stop: asyncio.Event, counter: Counter) -> None:
    async with websockets.connect(
        f"ws://127.0.0.1:{port}/v1/sessions/{session_id}/watch?format=packed", max_size=None
    ) as ws:
        await ws.recv()  # welcome
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(decode=False), 1.0)
            except TimeoutError:
                continue
            counter.frames += cbor2.loads(raw).get(0) == 1


async def soak(port: int, pid: int, minutes: float, sessions: int, watchers: int, fps: float) -> dict[str, Any]:
    frames = video_frames(int(fps * 4))
    stop = asyncio.Event()
    ready: asyncio.Queue[str] = asyncio.Queue()
    pubs = [Counter() for _ in range(sessions)]
    tasks = [asyncio.create_task(publisher(port, frames, fps, fps, stop, c, ready)) for c in pubs]
    ids = [await ready.get() for _ in range(sessions)]
    watch = [Counter() for _ in range(watchers)]
    tasks += [asyncio.create_task(watcher(port, ids[k % sessions], stop, c)) for k, c in enumerate(watch)]
    samples = []
    t0 = time.monotonic()
    last_pub, last_watch = [0] * sessions, [0] * watchers
    while time.monotonic() - t0 < minutes * 60.0:
        await asyncio.sleep(SAMPLE_S)
        rss, fds = process_state(pid)
        pub_hz = [(c.frames - last_pub[k]) / SAMPLE_S for k, c in enumerate(pubs)]
        watch_hz = [(c.frames - last_watch[k]) / SAMPLE_S for k, c in enumerate(watch)]
        last_pub, last_watch = [c.frames for c in pubs], [c.frames for c in watch]
        samples.append(
            {
                "t_s": round(time.monotonic() - t0, 1),
                "rss_mib": round(rss, 1),
                "fds": fds,
                "publisher_hz": [round(x, 2) for x in pub_hz],
                "watcher_hz_min": round(min(watch_hz), 2) if watch_hz else None,
                "watcher_hz_mean": round(float(np.mean(watch_hz)), 2) if watch_hz else None,
            }
        )
        print(json.dumps(samples[-1]), file=sys.stderr)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {"samples": samples, "errors": sorted({e for c in pubs for e in c.errors})}


def slope_per_min(ts: list[float], ys: list[float]) -> float:
    return float(np.polyfit(np.array(ts) / 60.0, ys, 1)[0]) if len(ts) >= 2 else 0.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--sessions", type=int, default=2)
    ap.add_argument("--watchers", type=int, default=50)
    ap.add_argument("--fps", type=float, default=30.0)
    args = ap.parse_args()
    server, port = start_server({"AVATAR_DRIVER_MAX_WATCHERS_PER_SESSION": str(args.watchers)}, "avatar-soak-")
    try:
        import urllib.request

        result = asyncio.run(soak(port, server.pid, args.minutes, args.sessions, args.watchers, args.fps))
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    finally:
        server.terminate()
        server.wait(30)
    s = result["samples"]
    half = s[len(s) // 2 :]
    dropped = {
        m[0]: float(m[1]) for m in re.findall(r'avatar_driver_frames_dropped_total\{reason="(\w+)"\} (\S+)', metrics)
    }
    pub = [hz for x in s for hz in x["publisher_hz"]]
    print(
        json.dumps(
            {
                "config": vars(args),
                "sample_s": SAMPLE_S,
                "rss_mib": {
                    "first": s[0]["rss_mib"],
                    "last": s[-1]["rss_mib"],
                    "max": max(x["rss_mib"] for x in s),
                    "slope_second_half_mib_per_min": round(
                        slope_per_min([x["t_s"] for x in half], [x["rss_mib"] for x in half]), 3
                    ),
                },
                "fds": {"first": s[0]["fds"], "last": s[-1]["fds"], "max": max(x["fds"] for x in s)},
                "publisher_hz": {
                    "min": min(pub),
                    "mean": round(float(np.mean(pub)), 2),
                    "first": s[0]["publisher_hz"],
                    "last": s[-1]["publisher_hz"],
                },
                "watcher_hz": {
                    "min": min(x["watcher_hz_min"] for x in s),
                    "mean": round(float(np.mean([x["watcher_hz_mean"] for x in s])), 2),
                },
                "errors": result["errors"],
                "dropped": dropped,
                "client_errors": dict(re.findall(r'avatar_driver_client_errors_total\{code="(\w+)"\} (\S+)', metrics)),
                "samples": s,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
