"""`avatar-driver vmc send`: a watcher that forwards a session's frames as VMC bundles."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket

import cbor2
import pytest
import websockets
from pythonosc.osc_bundle import OscBundle

from server.settings import Settings
from server.tools.vmc_send import VmcSendError, default_server, frame_of, run, send
from tests.support.paths import GOLDEN
from tests.support.server import serving
from tests.support.sockets import free_tcp_port, free_udp_port
from tests.support.vmc import tracker_frame


def test_a_named_frame_is_read_back_as_the_frame_it_was() -> None:
    payload = json.loads((GOLDEN / "avatar_frame_named.json").read_text())["payload"]
    frame = frame_of(payload)
    assert frame.weights_by_name() == payload["blendshapes"]
    assert frame.rotations_by_bone() == {b: q for b, q in payload["bone_transforms"].items() if isinstance(q, list)}
    assert frame.head_yaw_deg == payload["bone_transforms"]["head_yaw_deg"] and frame.face_present


def test_it_forwards_a_live_sessions_frames_to_a_vmc_receiver(settings: Settings) -> None:
    listen = free_udp_port()
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(5)
    with serving(settings.model_copy(update={"vmc_listen": listen})) as port:

        async def scenario() -> int:
            async with websockets.connect(f"ws://127.0.0.1:{port}/v1/stream") as ws:
                await ws.send(
                    cbor2.dumps(
                        {
                            "type": "hello",
                            "payload": {"consent": {}, "source": "vmc", "session_name": "vmc-forwarded", "rate_hz": 30},
                        }
                    )
                )
                assert cbor2.loads(await ws.recv(decode=False))["type"] == "welcome"
                tracker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

                async def track() -> None:
                    while True:
                        tracker.sendto(tracker_frame(0.7, 0.0), ("127.0.0.1", listen))
                        await asyncio.sleep(1 / 30)

                tracking = asyncio.create_task(track())
                sent = await asyncio.wait_for(
                    send(f"ws://127.0.0.1:{port}", "vmc-forwarded", receiver.getsockname(), "vrm0", None, frames=20), 20
                )
                tracking.cancel()
                tracker.close()
                return sent

        sent = asyncio.run(scenario())
        bundles = [OscBundle(receiver.recvfrom(65536)[0]) for _ in range(sent)]
    receiver.close()
    assert sent == 20
    names = [m.params[0] for m in bundles[-1] if m.address == "/VMC/Ext/Blend/Val"]
    assert names[:5] == ["A", "I", "U", "E", "O"] and "Blink_L" in names


def test_without_a_server_it_says_so_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 25, item 9: no server gave a 40-line traceback."""
    port = free_tcp_port()  # nothing listens there
    assert run(default_server("0.0.0.0", port), "nobody-here", ("127.0.0.1", free_udp_port()), "vrm0", None) == 1
    said = capsys.readouterr().err.strip().splitlines()
    assert len(said) == 1 and said[0].startswith(
        f"avatar-driver vmc send: cannot reach the server at ws://127.0.0.1:{port}"
    )
    assert "Traceback" not in said[0] and "avatar-driver serve" in said[0]


def test_it_says_it_is_connected_and_waiting_for_an_unknown_session(settings: Settings) -> None:
    """An unknown session waited silently: now each step is said."""
    said: list[str] = []
    with serving(settings) as port:

        async def scenario() -> None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    send(f"ws://127.0.0.1:{port}", "not-live-yet", ("127.0.0.1", 9), "vrm0", None, say=said.append),
                    2,
                )

        asyncio.run(scenario())
    assert said == [f"connected to ws://127.0.0.1:{port}; waiting for session 'not-live-yet' (Ctrl+C stops)"]


def test_a_refused_watch_is_one_line(settings: Settings) -> None:
    with serving(settings) as port:
        with pytest.raises(VmcSendError, match=r"the server closed the watch: wait=true needs a session name"):
            asyncio.run(send(f"ws://127.0.0.1:{port}", "x", ("127.0.0.1", 9), "vrm0", None))
