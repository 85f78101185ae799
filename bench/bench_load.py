"""Load: how many people one server serves. Prints one JSON object; not a test.

A real server (`avatar-driver serve`, its own process) and this load client (another process)
on loopback. For each configuration, for ``--seconds``:

* publishers: N sessions, each sending a moving real face (640x480 JPEG) at ``--fps`` and
  receiving packed frames at the same rate;
* watchers: one publisher at 60 Hz and W packed watchers of its session.

Per session (and per watcher): output Hz; the share of sent frames that reached an
avatar_frame (a frame's `capture_ms` came back as the newest contributing capture); latency
= receipt - `capture_ms` of the first avatar_frame carrying it (both this machine's clock),
p50/p95. Per configuration: the server's CPU (cores, from /proc) and RSS, its face worker
processes included (`--workers N`).

With ``--cluster nats``: the same against a cluster on this machine — nats-server (deploy/nats.conf),
one edge and one worker (`serve --cluster … --role edge|worker`, each its own process; CPU and RSS
are theirs together, nats-server's apart) — after a one-publisher baseline on the embedded
server in the same run: `cluster_hop_extra_ms` is what the hop through NATS adds to latency, and
the watcher rows are the throughput of one edge.

Usage: python bench/bench_load.py [--seconds 10] [--publishers 1,2,4,6,8] [--watchers 50,200,500] [--workers N]
       [--cluster nats]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cbor2
import numpy as np
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_pipeline import video_frames
from bench.bench_soak import process_state, start_server
from server.protocol.constants import PackedFrameKey, PackedKey, PackedType

if TYPE_CHECKING:
    from tests.support.nats_server import NatsServer

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Stream:
    """What one client received: frame times, and each capture's first arrival."""

    frames: int = 0
    first_arrival_ms: dict[int, float] = field(default_factory=dict)

    def receive(self, raw: bytes) -> None:
        m = cbor2.loads(raw)
        if not isinstance(m, dict) or m.get(PackedKey.TYPE) != PackedType.AVATAR_FRAME:
            return
        self.frames += 1
        capture = m[PackedKey.PAYLOAD].get(PackedFrameKey.CAPTURE_MS)
        if capture is not None and capture not in self.first_arrival_ms:
            self.first_arrival_ms[capture] = time.time() * 1000.0

    def latencies_ms(self) -> list[float]:
        return [arrived - capture for capture, arrived in self.first_arrival_ms.items()]


def cpu_seconds(pids: list[int]) -> float:
    """CPU time of the server processes and their children (utime + stime)."""
    total = 0.0
    for p in pids + [c for pid in pids for c in _children(pid)]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return total


def rss_mib(pids: list[int]) -> float:
    """Resident memory of the server processes and their children."""
    total = 0.0
    for p in pids + [c for pid in pids for c in _children(pid)]:
        try:
            total += process_state(p)[0]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def _children(pid: int) -> list[int]:
    kids = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            kids += [int(c) for c in (task / "children").read_text().split()]
        except FileNotFoundError:  # a thread that ended meanwhile
            continue
    return kids + [g for k in kids for g in _children(k)]


async def publisher(
    port: int,
    frames: list[bytes],
    fps: float,
    rate_hz: float,
    seconds: float,
    stream: Stream,
    sent: list[int],
    ready: asyncio.Queue[str] | None = None,
) -> None:
    async with websockets.connect(f"ws://127.0.0.1:{port}/v1/stream", max_size=None) as ws:
        await ws.send(
            cbor2.dumps(
                {
                    "type": "hello",
                    "payload": {
                        "consent": {"camera": True},
                        "format": "packed",
                        "rate_hz": rate_hz,
                        "strategy": "direct",
                    },
                }
            )
        )
        welcome = cbor2.loads(await ws.recv(decode=False))
        if ready is not None:
            await ready.put(welcome["payload"]["session_id"])

        async def read() -> None:
            async for raw in ws:
                assert isinstance(raw, bytes)  # packed CBOR: binary frames
                stream.receive(raw)

        reader = asyncio.create_task(read())
        start, i = time.monotonic(), 0
        while time.monotonic() - start < seconds:
            capture = int(time.time() * 1000)
            await ws.send(
                cbor2.dumps(
                    {"type": "video_frame", "payload": {"image": frames[i % len(frames)], "capture_ms": capture}}
                )
            )
            sent.append(capture)
            i += 1
            await asyncio.sleep(max(0.0, start + i / fps - time.monotonic()))
        await asyncio.sleep(0.3)  # the last frames' answers
        await ws.send(cbor2.dumps({"type": "bye", "payload": {}}))
        reader.cancel()


async def watcher(port: int, session_id: str, seconds: float, stream: Stream) -> None:
    async with websockets.connect(
        f"ws://127.0.0.1:{port}/v1/sessions/{session_id}/watch?format=packed", max_size=None
    ) as ws:
        await ws.recv()  # welcome
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            try:
                stream.receive(await asyncio.wait_for(ws.recv(decode=False), left))
            except TimeoutError:
                break


def summary(stream: Stream, sent: list[int] | None, seconds: float, skip_s: float) -> dict[str, Any]:
    lat = stream.latencies_ms()
    out = {
        "hz": round(stream.frames / seconds, 1),
        "latency_ms": {"p50": round(float(np.percentile(lat, 50)), 1), "p95": round(float(np.percentile(lat, 95)), 1)}
        if lat
        else None,
    }
    if sent is not None:  # frames after the first skip_s (the session's start) that came back
        settled = [c for c in sent if c >= sent[0] + skip_s * 1000]
        out["processed_share"] = round(sum(c in stream.first_arrival_ms for c in settled) / max(1, len(settled)), 3)
    return out


async def run_publishers(
    port: int, pids: list[int], n: int, fps: float, seconds: float, frames: list[bytes]
) -> dict[str, Any]:
    streams = [Stream() for _ in range(n)]
    sents: list[list[int]] = [[] for _ in range(n)]
    cpu0, t0 = cpu_seconds(pids), time.monotonic()
    await asyncio.gather(
        *(publisher(port, frames, fps, fps, seconds, s, sent) for s, sent in zip(streams, sents, strict=True))
    )
    cpu = (cpu_seconds(pids) - cpu0) / (time.monotonic() - t0)
    sessions = [summary(s, sent, seconds, 1.0) for s, sent in zip(streams, sents, strict=True)]
    p95 = [s["latency_ms"]["p95"] for s in sessions if s["latency_ms"]]
    return {
        "publishers": n,
        "fps": fps,
        "worst_processed_share": min(s["processed_share"] for s in sessions),
        "worst_p95_ms": max(p95) if p95 else None,
        "server_cpu_cores": round(cpu, 2),
        "server_rss_mib": round(rss_mib(pids), 1),
        "sessions": sessions,
    }


async def run_watchers(port: int, pids: list[int], w: int, seconds: float, frames: list[bytes]) -> dict[str, Any]:
    own = Stream()
    sent: list[int] = []
    ready: asyncio.Queue[str] = asyncio.Queue()
    pub = asyncio.create_task(publisher(port, frames, 30.0, 60.0, seconds + 2.0, own, sent, ready))
    session_id = await ready.get()
    streams = [Stream() for _ in range(w)]
    cpu0, t0 = cpu_seconds(pids), time.monotonic()
    await asyncio.gather(*(watcher(port, session_id, seconds, s) for s in streams))
    cpu = (cpu_seconds(pids) - cpu0) / (time.monotonic() - t0)
    await pub
    watched = [summary(s, None, seconds, 0.0) for s in streams]
    p95 = [x["latency_ms"]["p95"] for x in watched if x["latency_ms"]]
    return {
        "watchers": w,
        "rate_hz": 60.0,
        "watcher_hz_min": min(x["hz"] for x in watched),
        "watcher_p95_ms_max": max(p95) if p95 else None,
        "publisher": summary(own, sent, seconds + 2.0, 1.0),
        "server_cpu_cores": round(cpu, 2),
        "server_rss_mib": round(rss_mib(pids), 1),
    }


def hop(cluster: dict[str, Any], embedded: dict[str, Any]) -> dict[str, float]:
    """Latency the cluster adds: one publisher through an edge and a worker minus the same embedded."""
    a, b = cluster["sessions"][0]["latency_ms"], embedded["sessions"][0]["latency_ms"]
    return {k: round(a[k] - b[k], 1) for k in ("p50", "p95")} if a and b else {}


def start_cluster(settings: dict[str, str]) -> tuple[NatsServer, list[subprocess.Popen[bytes]], int]:
    """nats-server, a worker and an edge on this machine; the edge's port."""
    import tempfile

    from tests.support.nats_server import NatsServer

    nats = NatsServer(Path(tempfile.mkdtemp(prefix="avatar-load-nats-")))
    worker, _ = start_server(
        {**settings, "AVATAR_DRIVER_CLUSTER": nats.url("worker"), "AVATAR_DRIVER_ROLE": "worker"}, "avatar-load-worker-"
    )
    edge, port = start_server(
        {**settings, "AVATAR_DRIVER_CLUSTER": nats.url("edge"), "AVATAR_DRIVER_ROLE": "edge"}, "avatar-load-edge-"
    )
    return nats, [edge, worker], port


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--publishers", default="1,2,4,6,8")
    ap.add_argument("--watchers", default="50,200,500")
    ap.add_argument("--workers", type=int, default=0, help="the server's face worker processes (serve --workers)")
    ap.add_argument(
        "--cluster",
        choices=("none", "nats"),
        default="none",
        help="nats: through an edge and a worker on a nats-server, after an embedded baseline",
    )
    args = ap.parse_args()
    publishers = [int(x) for x in args.publishers.split(",") if x]
    watchers = [int(x) for x in args.watchers.split(",") if x]
    settings = {
        "AVATAR_DRIVER_MAX_SESSIONS": str(max(publishers + [1]) + 1),
        "AVATAR_DRIVER_MAX_WATCHERS_PER_SESSION": str(max(watchers + [1])),
        "AVATAR_DRIVER_INFERENCE_WORKERS": str(args.workers),
    }
    frames = video_frames(int(args.fps * 4))
    results: dict[str, Any] = {"publishers": [], "watchers": []}
    nats = None
    if args.cluster == "nats":
        server, port = start_server(settings, "avatar-load-")
        try:
            results["embedded_baseline"] = asyncio.run(
                run_publishers(port, [server.pid], 1, args.fps, args.seconds, frames)
            )
        finally:
            server.terminate()
            server.wait(30)
        nats, servers, port = start_cluster(settings)
    else:
        server, port = start_server(settings, "avatar-load-")
        servers = [server]
    pids = [s.pid for s in servers]
    try:
        for n in publishers:
            results["publishers"].append(asyncio.run(run_publishers(port, pids, n, args.fps, args.seconds, frames)))
            print(json.dumps({k: v for k, v in results["publishers"][-1].items() if k != "sessions"}), file=sys.stderr)
        for w in watchers:
            results["watchers"].append(asyncio.run(run_watchers(port, pids, w, args.seconds, frames)))
            print(json.dumps(results["watchers"][-1]), file=sys.stderr)
    finally:
        for s in servers:
            s.terminate()
            s.wait(30)
        if nats is not None:
            nats.stop()
    if "embedded_baseline" in results and results["publishers"] and results["publishers"][0]["publishers"] == 1:
        results["cluster_hop_extra_ms"] = hop(results["publishers"][0], results["embedded_baseline"])
    pubs = {r["publishers"]: r for r in results["publishers"]}
    watch = {r["watchers"]: r for r in results["watchers"]}
    targets = {
        "6_publishers_95pct_processed_p95_le_60ms": bool(
            6 in pubs and pubs[6]["worst_processed_share"] >= 0.95 and (pubs[6]["worst_p95_ms"] or 1e9) <= 60
        ),
        "500_watchers_ge_55hz_p95_le_100ms": bool(
            500 in watch and watch[500]["watcher_hz_min"] >= 55 and (watch[500]["watcher_p95_ms_max"] or 1e9) <= 100
        ),
    }
    print(json.dumps({"config": vars(args), "cores": os.cpu_count(), "results": results, "targets": targets}, indent=1))


if __name__ == "__main__":
    main()
