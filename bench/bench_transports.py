"""WebSocket vs WebRTC from the same source video. Prints one JSON object; not a test.

One real server (`avatar-driver serve`, its own process); this client plays the same moving
real face (640x480, 30 fps, `--seconds`) once per transport:

* **websocket**: JPEG frames (quality 80, as the viewer sends) in `video_frame` messages;
* **webrtc**: the same frames, decoded once, as an aiortc video track (VP8, the browser's
  default codec), the stream back on the `avatar` data channel.

Per transport: capture -> avatar_frame latency p50/p95 (receipt - `capture_ms` of the first
frame carrying it), frames that came back, upstream bytes per second (WebSocket: the
messages sent; WebRTC: RTP bytes sent, from the sender's stats), and the server's CPU per
session (cores, /proc). Over WebRTC `capture_ms` is the frame's RTP time mapped onto the
server's clock by its least-delayed frame (docs/protocol.md), so it leaves out the fastest
frame's encode + network + decode path: `vp8_encode_decode_ms` measures that path's codec
part on this CPU (PyAV's libvpx, the same frames), to be added to WebRTC's figures when
comparing end to end; on loopback the network adds ~0.

Usage: python bench/bench_transports.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import json
import sys
import time
from pathlib import Path
from typing import Any

import av
import cbor2
import cv2
import httpx2
import numpy as np
import websockets
from aiortc import RTCPeerConnection, RTCSessionDescription, VideoStreamTrack

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_load import Stream, cpu_seconds
from bench.bench_pipeline import video_frames
from bench.bench_soak import start_server

FPS = 30


def pct(values: list[float]) -> dict[str, float] | None:
    return (
        {"p50": round(float(np.percentile(values, 50)), 1), "p95": round(float(np.percentile(values, 95)), 1)}
        if values
        else None
    )


async def over_websocket(port: int, jpegs: list[bytes], seconds: float, pid: int) -> dict[str, Any]:
    stream, sent_bytes = Stream(), 0
    async with websockets.connect(f"ws://127.0.0.1:{port}/v1/stream", max_size=None) as ws:
        await ws.send(
            cbor2.dumps(
                {
                    "type": "hello",
                    "payload": {"consent": {"camera": True}, "format": "packed", "rate_hz": FPS, "strategy": "direct"},
                }
            )
        )
        await ws.recv()

        async def read() -> None:
            async for raw in ws:
                assert isinstance(raw, bytes)  # packed CBOR: binary frames
                stream.receive(raw)

        reader = asyncio.create_task(read())
        await asyncio.sleep(1.0)  # the session's models load
        cpu0, start, i = cpu_seconds([pid]), time.monotonic(), 0
        while time.monotonic() - start < seconds:
            message = cbor2.dumps(
                {
                    "type": "video_frame",
                    "payload": {"image": jpegs[i % len(jpegs)], "capture_ms": int(time.time() * 1000)},
                }
            )
            await ws.send(message)
            sent_bytes += len(message)
            i += 1
            await asyncio.sleep(max(0.0, start + i / FPS - time.monotonic()))
        cpu = (cpu_seconds([pid]) - cpu0) / (time.monotonic() - start)
        await asyncio.sleep(0.3)
        reader.cancel()
    return {
        "latency_ms": pct(stream.latencies_ms()),
        "frames_back": len(stream.first_arrival_ms),
        "frames_sent": i,
        "upstream_bytes_per_s": round(sent_bytes / seconds),
        "server_cpu_cores": round(cpu, 3),
    }


class Frames(VideoStreamTrack):
    """The same frames, decoded once, at FPS with their capture time as the RTP clock."""

    def __init__(self, rgb: list[np.ndarray]):
        super().__init__()
        self.rgb, self.i = rgb, 0
        self.start: float | None = None

    async def recv(self) -> av.VideoFrame:
        if self.start is None:
            self.start = time.monotonic()
        self.i += 1
        await asyncio.sleep(max(0.0, self.start + self.i / FPS - time.monotonic()))
        frame = av.VideoFrame.from_ndarray(self.rgb[self.i % len(self.rgb)], format="rgb24")
        frame.pts, frame.time_base = int((time.monotonic() - self.start) * 90000), fractions.Fraction(1, 90000)
        return frame


async def over_webrtc(port: int, rgb: list[np.ndarray], seconds: float, pid: int) -> dict[str, Any]:
    pc = RTCPeerConnection()
    pc.createDataChannel("control")
    avatar = pc.createDataChannel("avatar", ordered=False, maxRetransmits=0)
    stream = Stream()
    avatar.on("message", stream.receive)
    track = Frames(rgb)
    sender = pc.addTrack(track)
    await pc.setLocalDescription(await pc.createOffer())
    async with httpx2.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        answer = (
            await http.post(
                "/v1/webrtc/offer",
                json={
                    "sdp": pc.localDescription.sdp,
                    "type": "offer",
                    "hello": {"consent": {"camera": True}, "format": "packed", "rate_hz": FPS, "strategy": "direct"},
                },
            )
        ).json()
    await pc.setRemoteDescription(RTCSessionDescription(**answer))
    await asyncio.sleep(1.0)

    async def bytes_sent() -> int:
        return sum(s.bytesSent for s in (await sender.getStats()).values() if s.type == "outbound-rtp")

    stream.frames, stream.first_arrival_ms = 0, {}
    cpu0, bytes0, start, frames0 = cpu_seconds([pid]), await bytes_sent(), time.monotonic(), track.i
    await asyncio.sleep(seconds)
    cpu = (cpu_seconds([pid]) - cpu0) / (time.monotonic() - start)
    sent = await bytes_sent() - bytes0
    frames = track.i - frames0
    await asyncio.sleep(0.3)
    await pc.close()
    return {
        "latency_ms": pct(stream.latencies_ms()),
        "frames_back": len(stream.first_arrival_ms),
        "frames_sent": frames,
        "upstream_bytes_per_s": round(sent / seconds),
        "server_cpu_cores": round(cpu, 3),
    }


def vp8_encode_decode_ms(rgb: list[np.ndarray]) -> dict[str, float] | None:
    """The codec part of WebRTC's path that its capture_ms leaves out: libvpx VP8 encode and
    decode of one frame, as aiortc does them (real-time deadline, ~1 Mbit/s)."""
    encoder = av.CodecContext.create("libvpx", "w")
    encoder.width, encoder.height, encoder.pix_fmt = 640, 480, "yuv420p"
    encoder.time_base, encoder.bit_rate = fractions.Fraction(1, FPS), 1_000_000
    encoder.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    decoder = av.CodecContext.create("libvpx", "r")
    times = []
    for i, image in enumerate(rgb * 2):
        frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
        frame.pts = i
        t0 = time.perf_counter()
        for packet in encoder.encode(frame):
            decoder.decode(packet)
        times.append((time.perf_counter() - t0) * 1000)
    return pct(times[10:])


def rgb_of(jpeg: bytes) -> np.ndarray:
    """A JPEG, decoded to RGB."""
    bgr = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert bgr is not None
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()
    jpegs = video_frames(FPS * 4)
    rgb = [rgb_of(j) for j in jpegs]
    server, port = start_server({}, "avatar-transports-")
    try:
        results: dict[str, Any] = {
            "websocket": asyncio.run(over_websocket(port, jpegs, args.seconds, server.pid)),
            "webrtc": asyncio.run(over_webrtc(port, rgb, args.seconds, server.pid)),
        }
    finally:
        server.terminate()
        server.wait(30)
    results["vp8_encode_decode_ms"] = vp8_encode_decode_ms(rgb)
    ws, rtc = results["websocket"], results["webrtc"]
    results["ratios_webrtc_over_websocket"] = {
        "upstream_bytes": round(rtc["upstream_bytes_per_s"] / max(1, ws["upstream_bytes_per_s"]), 3),
        "server_cpu": round(rtc["server_cpu_cores"] / max(1e-6, ws["server_cpu_cores"]), 3),
    }
    print(json.dumps({"config": vars(args), "fps": FPS, "results": results}, indent=1))


if __name__ == "__main__":
    main()
