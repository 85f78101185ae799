"""Soak: a real server (`avatar-driver serve`, its own process) under a steady load for a long
time — publishers sending a real face at 30 fps, many watchers — with its memory, file
descriptors, output rates and errors sampled as it goes. Prints one JSON object; not a test.

Beside the sessions: a VMC tracker (a real UDP VMC stream to the server's `--vmc-listen` port,
at --vmc-hz) driving one `source: "vmc"` session, and a speech-emotion upload (POST
/v1/speech-emotion of a real speech recording: espeak-ng lines, as the tests' recorded_audio.py
makes them, in a WAV) every --speech-emotion-every-s; both reported in the JSON (`vmc`,
`speech_emotion`). 0 turns either off.

Flat means: RSS and fds end where they settled (the slope over the second half is near 0),
every session and watcher keeps its rate from the first interval to the last, no errors.

Usage: python bench/bench_soak.py [--minutes 10] [--sessions 2] [--watchers 50] [--fps 30]
                                  [--vmc-hz 60] [--speech-emotion-every-s 60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter as Tally
from pathlib import Path
from typing import Any

import cbor2
import numpy as np
import websockets
from websockets.asyncio.client import ClientConnection

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_pipeline import video_frames
from tests.support.sockets import free_tcp_port, free_udp_port
from tests.support.vmc import tracker_frame

REPO = Path(__file__).resolve().parents[1]
SAMPLE_S = 10.0


def start_server(settings: dict[str, str], prefix: str) -> tuple[subprocess.Popen[bytes], int]:
    """`avatar-driver serve` in its own process on a free port with a fresh data folder and
    these AVATAR_DRIVER_* settings, once it answers /healthz; and its port."""
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
        await count_frames(ws, stop, counter)


async def vmc_session(port: int, rate_hz: float, stop: asyncio.Event, counter: Counter) -> None:
    """A session whose face is the VMC stream (hello `source: "vmc"`): counts its frames."""
    async with websockets.connect(f"ws://127.0.0.1:{port}/v1/stream", max_size=None) as ws:
        hello = {"consent": {}, "source": "vmc", "format": "packed", "rate_hz": rate_hz}
        await ws.send(cbor2.dumps({"type": "hello", "payload": hello}))
        await ws.recv()  # welcome
        await count_frames(ws, stop, counter)
        await ws.send(cbor2.dumps({"type": "bye", "payload": {}}))


async def count_frames(ws: ClientConnection, stop: asyncio.Event, counter: Counter) -> None:
    """Packed avatar frames (and the codes of errors) received until ``stop``."""
    while not stop.is_set():
        try:
            raw = await asyncio.wait_for(ws.recv(decode=False), 1.0)
        except TimeoutError:
            continue
        m = cbor2.loads(raw)
        if m.get(0) == 1:
            counter.frames += 1
        elif m.get("type") == "error":
            counter.errors.append(m["payload"]["code"])


async def vmc_tracker(vmc_port: int, hz: float, stop: asyncio.Event, sent: list[int]) -> None:
    """A VMC tracker: a real UDP stream of perfect-sync frames (the jaw moving) at ``hz``."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sender.setblocking(False)
        start, i = time.monotonic(), 0
        while not stop.is_set():
            try:
                sender.sendto(tracker_frame(0.5 + 0.4 * np.sin(i / hz * 2.0), 10.0), ("127.0.0.1", vmc_port))
                sent[0] += 1
            except BlockingIOError:
                pass
            i += 1
            await asyncio.sleep(max(0.0, start + i / hz - time.monotonic()))


def speech_recording() -> bytes:
    """A WAV of real speech: espeak-ng's calm and excited lines (tests/support/recorded_audio.py), ~25 s."""
    from tests.support.recorded_audio import calm_and_excited, encode

    samples, _ = calm_and_excited(rounds=1)
    return encode(samples, "wav")


async def speech_emotion_uploads(port: int, every_s: float, stop: asyncio.Event, results: list[dict[str, Any]]) -> None:
    """POST /v1/speech-emotion of a real recording every ``every_s``: each one's status and seconds."""
    body = await asyncio.to_thread(speech_recording)

    def upload() -> dict[str, Any]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/speech-emotion", data=body, headers={"content-type": "audio/wav"}
        )
        t0 = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=600) as response:
                response.read()
                status = response.status
        except urllib.error.HTTPError as e:
            status = e.code
        except OSError as e:
            status = type(e).__name__
        return {"status": status, "seconds": round(time.monotonic() - t0, 2), "bytes": len(body)}

    while not stop.is_set():
        t0 = time.monotonic()
        results.append(await asyncio.to_thread(upload))
        print(json.dumps({"speech_emotion": results[-1]}), file=sys.stderr)
        try:
            await asyncio.wait_for(stop.wait(), max(0.0, every_s - (time.monotonic() - t0)))
        except TimeoutError:
            pass


async def soak(
    port: int,
    pid: int,
    args: argparse.Namespace,
    vmc_port: int | None,
) -> dict[str, Any]:
    minutes, sessions, watchers, fps = args.minutes, args.sessions, args.watchers, args.fps
    frames = video_frames(int(fps * 4))
    stop = asyncio.Event()
    ready: asyncio.Queue[str] = asyncio.Queue()
    pubs = [Counter() for _ in range(sessions)]
    tasks = [asyncio.create_task(publisher(port, frames, fps, fps, stop, c, ready)) for c in pubs]
    ids = [await ready.get() for _ in range(sessions)]
    watch = [Counter() for _ in range(watchers)]
    tasks += [asyncio.create_task(watcher(port, ids[k % sessions], stop, c)) for k, c in enumerate(watch)]
    vmc, vmc_sent = Counter(), [0]
    if vmc_port is not None:
        tasks += [
            asyncio.create_task(vmc_session(port, fps, stop, vmc)),
            asyncio.create_task(vmc_tracker(vmc_port, args.vmc_hz, stop, vmc_sent)),
        ]
    uploads: list[dict[str, Any]] = []
    if args.speech_emotion_every_s > 0:
        tasks.append(asyncio.create_task(speech_emotion_uploads(port, args.speech_emotion_every_s, stop, uploads)))
    samples = []
    t0 = time.monotonic()
    last_pub, last_watch, last_vmc = [0] * sessions, [0] * watchers, 0
    while time.monotonic() - t0 < minutes * 60.0:
        await asyncio.sleep(SAMPLE_S)
        rss, fds = process_state(pid)
        pub_hz = [(c.frames - last_pub[k]) / SAMPLE_S for k, c in enumerate(pubs)]
        watch_hz = [(c.frames - last_watch[k]) / SAMPLE_S for k, c in enumerate(watch)]
        vmc_hz = (vmc.frames - last_vmc) / SAMPLE_S
        last_pub, last_watch, last_vmc = [c.frames for c in pubs], [c.frames for c in watch], vmc.frames
        samples.append(
            {
                "t_s": round(time.monotonic() - t0, 1),
                "rss_mib": round(rss, 1),
                "fds": fds,
                "publisher_hz": [round(x, 2) for x in pub_hz],
                "watcher_hz_min": round(min(watch_hz), 2) if watch_hz else None,
                "watcher_hz_mean": round(float(np.mean(watch_hz)), 2) if watch_hz else None,
                "vmc_session_hz": round(vmc_hz, 2) if vmc_port is not None else None,
            }
        )
        print(json.dumps(samples[-1]), file=sys.stderr)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "samples": samples,
        "errors": sorted({e for c in [*pubs, vmc] for e in c.errors}),
        "vmc_sent": vmc_sent[0],
        "uploads": uploads,
    }


def slope_per_min(ts: list[float], ys: list[float]) -> float:
    return float(np.polyfit(np.array(ts) / 60.0, ys, 1)[0]) if len(ts) >= 2 else 0.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--sessions", type=int, default=2)
    ap.add_argument("--watchers", type=int, default=50)
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--vmc-hz", type=float, default=60.0, help="a VMC tracker's rate (0: no VMC stream)")
    ap.add_argument("--speech-emotion-every-s", type=float, default=60.0, help="0: no speech-emotion uploads")
    args = ap.parse_args()
    vmc_port = free_udp_port() if args.vmc_hz > 0 else None
    settings = {"AVATAR_DRIVER_MAX_WATCHERS_PER_SESSION": str(args.watchers)}
    if vmc_port is not None:
        settings["AVATAR_DRIVER_VMC_LISTEN"] = str(vmc_port)
    server, port = start_server(settings, "avatar-soak-")
    try:
        result = asyncio.run(soak(port, server.pid, args, vmc_port))
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
    vmc_in = re.search(r'avatar_driver_frames_in_total\{kind="vmc"\} (\S+)', metrics)
    vmc_hz = [x["vmc_session_hz"] for x in s if x["vmc_session_hz"] is not None]
    seconds = [u["seconds"] for u in result["uploads"]]
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
                "vmc": None
                if not args.vmc_hz
                else {
                    "sent": result["vmc_sent"],
                    "applied": float(vmc_in.group(1)) if vmc_in else 0.0,
                    "dropped": dict(re.findall(r'avatar_driver_vmc_dropped_total\{reason="(\w+)"\} (\S+)', metrics)),
                    "session_hz": {"min": min(vmc_hz), "mean": round(float(np.mean(vmc_hz)), 2)} if vmc_hz else None,
                },
                "speech_emotion": None
                if not args.speech_emotion_every_s
                else {
                    "uploads": len(result["uploads"]),
                    "statuses": dict(Tally(str(u["status"]) for u in result["uploads"])),
                    "seconds": {"min": min(seconds), "mean": round(float(np.mean(seconds)), 2), "max": max(seconds)}
                    if seconds
                    else None,
                    "bytes": result["uploads"][0]["bytes"] if result["uploads"] else None,
                },
                "samples": s,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
