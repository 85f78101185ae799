"""A session fed by VMC (hello `source: "vmc"`, `serve --vmc-listen`) and sending VMC (hello
`vmc`, to one of the operator's targets), end to end through the real server."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import cbor2
import websockets
from pythonosc.osc_bundle import OscBundle

from server.settings import Settings
from tests.support.server import serving
from tests.support.sockets import free_udp_port
from tests.support.vmc import tracker_frame


def test_a_vmc_tracker_drives_a_session_whose_frames_also_go_out_as_vmc(
    settings: Settings, udp_receiver: socket.socket
) -> None:
    listen = free_udp_port()
    target = f"127.0.0.1:{udp_receiver.getsockname()[1]}"
    configured = settings.model_copy(update={"vmc_listen": listen, "vmc_targets": target})
    with serving(configured) as port:

        async def scenario() -> tuple[list[dict[str, Any]], list[bool]]:
            async with websockets.connect(f"ws://127.0.0.1:{port}/v1/stream") as ws:
                await ws.send(
                    cbor2.dumps(
                        {
                            "type": "hello",
                            "payload": {
                                "consent": {},
                                "source": "vmc",
                                "format": "named",
                                "rate_hz": 30,
                                "strategy": "direct",
                                "vmc": {"target": target, "profile": "vrm1"},
                            },
                        }
                    )
                )
                assert cbor2.loads(await ws.recv(decode=False))["type"] == "welcome"
                tracker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                frames: list[dict[str, Any]] = []
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    tracker.sendto(tracker_frame(0.8, 20.0), ("127.0.0.1", listen))
                    m = cbor2.loads(await ws.recv(decode=False))
                    if m["type"] == "avatar_frame" and m["payload"]["face_present"]:
                        frames.append(m["payload"])
                        if m["payload"]["blendshapes"]["jawOpen"] > 0.6 and len(frames) > 10:
                            break
                tracker.close()
                after: list[bool] = []  # the tracker stopped: 0.5 s later the face is gone
                deadline = time.monotonic() + 1.5
                while time.monotonic() < deadline:
                    m = cbor2.loads(await ws.recv(decode=False))
                    if m["type"] == "avatar_frame":
                        after.append(m["payload"]["face_present"])
                return frames, after

        frames, after = asyncio.run(scenario())
        out = OscBundle(udp_receiver.recvfrom(65536)[0])
    assert frames and frames[-1]["blendshapes"]["jawOpen"] > 0.6 and frames[-1]["blendshapes"]["eyeBlinkLeft"] < 0.3
    assert abs(frames[-1]["bone_transforms"]["head_yaw_deg"]) > 10  # the tracker's head turn reached the avatar
    assert after[0] is True and after[-1] is False  # present follows the stream
    names = [m.params[0] for m in out if m.address == "/VMC/Ext/Blend/Val"]
    assert "aa" in names and "blinkLeft" in names and "JawOpen" not in names  # the vrm1 profile's names


def test_vmc_targets_and_sources_the_server_does_not_have_are_refused(settings: Settings) -> None:
    with serving(settings.model_copy(update={"vmc_targets": "127.0.0.1:39539"})) as port:

        async def hello(payload: dict[str, Any]) -> dict[str, Any]:
            async with websockets.connect(f"ws://127.0.0.1:{port}/v1/stream") as ws:
                await ws.send(cbor2.dumps({"type": "hello", "payload": {"consent": {}, **payload}}))
                reply: dict[str, Any] = cbor2.loads(await ws.recv(decode=False))
                return reply

        elsewhere = asyncio.run(hello({"vmc": {"target": "203.0.113.7:39539"}}))
        bad_profile = asyncio.run(hello({"vmc": {"target": "127.0.0.1:39539", "profile": "vrm2"}}))
        no_listener = asyncio.run(hello({"source": "vmc"}))
        allowed = asyncio.run(hello({"vmc": {"target": "127.0.0.1:39539"}}))
    assert (
        elsewhere["payload"]["code"] == "bad_hello"
        and "not one of this server's VMC targets" in elsewhere["payload"]["message"]
    )
    assert bad_profile["payload"]["code"] == "bad_hello"
    assert no_listener["payload"]["code"] == "bad_hello" and "--vmc-listen" in no_listener["payload"]["message"]
    assert allowed["type"] == "welcome"
