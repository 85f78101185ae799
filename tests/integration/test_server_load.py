"""The real server (uvicorn, loopback) under the loads that used to freeze it: its event loop
stays free for /healthz and a live session while a long line is animated and an avatar is
inspected, and a huge chunked body is refused while it streams."""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import time
from pathlib import Path

import cbor2
import httpx2
import websockets

from tests.support.media import wav_header

RATE_HZ = 30


def long_line(tmp_path: Path) -> bytes:
    """About a minute of speech (espeak-ng) as a WAV."""
    text = " ".join(["The quick brown fox jumps over the lazy dog near the river bank while the children play."] * 12)
    out = tmp_path / "long.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "160", "-w", str(out), text], check=True)
    return out.read_bytes()


def test_health_and_a_live_session_keep_their_rate_while_tools_work(
    live_server: int, avatars: Path, tmp_path: Path
) -> None:
    server = live_server
    wav, avatar = long_line(tmp_path), (avatars / "vroid.glb").read_bytes()

    async def scenario() -> tuple[
        list[float], list[tuple[float, float]], httpx2.Response, httpx2.Response, float, float
    ]:
        frames: list[float] = []
        health: list[tuple[float, float]] = []  # (asked at, answered after)
        async with (
            websockets.connect(f"ws://127.0.0.1:{server}/v1/stream") as ws,
            httpx2.AsyncClient(base_url=f"http://127.0.0.1:{server}", timeout=120) as http,
        ):
            await ws.send(cbor2.dumps({"type": "hello", "payload": {"consent": {}, "rate_hz": RATE_HZ}}))
            assert cbor2.loads(await ws.recv(decode=False))["type"] == "welcome"

            async def read() -> None:
                while True:
                    if cbor2.loads(await ws.recv(decode=False)).get("type") == "avatar_frame":
                        frames.append(time.monotonic())

            async def poll() -> None:
                while True:
                    t = time.monotonic()
                    assert (await http.get("/healthz")).status_code == 200
                    health.append((t, time.monotonic() - t))
                    await asyncio.sleep(0.05)

            tasks = [asyncio.create_task(read()), asyncio.create_task(poll())]
            await asyncio.sleep(1.0)  # settled
            t0 = time.monotonic()
            animated, uploaded = await asyncio.gather(
                http.post("/v1/animate", content=wav),
                http.post("/v1/rigs?filename=vroid.glb&id=load-test", content=avatar),
            )
            t1 = time.monotonic()
            for t in tasks:
                t.cancel()
        return frames, health, animated, uploaded, t0, t1

    frames, health, animated, uploaded, t0, t1 = asyncio.run(scenario())
    assert animated.status_code == 200 and animated.json()["duration_ms"] > 50_000
    assert uploaded.status_code == 201 and uploaded.json()["id"] == "load-test"
    busy_s = t1 - t0
    assert busy_s > 1.0, "the tools finished too fast to prove anything"
    during = [took for asked, took in health if t0 <= asked <= t1]
    got = sum(t0 <= t <= t1 for t in frames)
    assert len(during) >= busy_s * 5 and max(during) < 0.5 and statistics.median(during) < 0.05, during
    assert got >= 0.8 * RATE_HZ * busy_s, f"{got} frames in {busy_s:.1f} s"


def test_a_huge_chunked_body_is_refused_while_it_streams(live_server: int) -> None:
    server = live_server
    """A 400 MiB chunked WAV used to be buffered whole before its size was checked (+728 MB)."""

    async def scenario() -> tuple[int, bytes]:
        reader, writer = await asyncio.open_connection("127.0.0.1", server)
        writer.write(
            b"POST /v1/animate HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: audio/wav\r\n\r\n"
        )
        # A WAV header whose rate is so high that 120 s of it (184 MB) is over the byte limit (32 MiB):
        # the size limit, not the header's length check, is what refuses it.
        header = wav_header(192_000, 4, 192_000 * 8)
        writer.write(b"%x\r\n" % len(header) + header + b"\r\n")
        chunk = b"%x\r\n" % (1 << 20) + b"\0" * (1 << 20) + b"\r\n"
        sent = 0
        response = asyncio.create_task(reader.read(4096))
        while sent < 400 << 20 and not response.done():
            writer.write(chunk)
            try:
                await asyncio.wait_for(writer.drain(), 1.0)
            except (TimeoutError, ConnectionError):
                break  # the server stopped reading
            sent += 1 << 20
        head = await asyncio.wait_for(response, 10)
        writer.close()
        return sent, head

    sent, head = asyncio.run(scenario())
    assert head.startswith(b"HTTP/1.1 413"), head[:100]
    assert sent < 64 << 20, f"{sent >> 20} MiB were sent before the refusal"
