"""The plug-in points, proven with pieces written here and nowhere else: an in-memory
transport (no sockets) drives a whole session through the SessionController, a sink of this
module receives the session's output, and every message between the session and its stages
crosses a bus that encodes and decodes it, as a bus between processes does.

Nothing here touches the session, controller or registry modules: only their public API and
the ports a controller is given (server/live/ports.py), as the server wires them.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import cbor2
import numpy as np
import numpy.typing as npt

from server.inference.speech_service import SpeechService
from server.live.bus import InProcessBus
from server.live.controller import SessionController
from server.live.ports import LivePorts
from server.live.session import Session
from server.protocol.constants import CloseCode, MessageType
from server.settings import Settings
from tests.support.fakes import MemoryChannel, Tally, live_ports
from tests.support.media import espeak, jpeg, pcm16


class MemoryTransport:
    """Moves messages between a client (this test) and a controller; nothing more."""

    def __init__(self, ports: LivePorts):
        self.channel = MemoryChannel()
        self.controller = SessionController(ports, self.channel)
        self.sequence = 0

    async def send(self, kind: str, payload: dict[str, Any]) -> None:
        self.sequence += 1
        await self.controller.receive(
            cbor2.dumps(
                {"type": kind, "session_id": None, "timestamp_ms": 0, "sequence": self.sequence, "payload": payload}
            )
        )

    def close(self) -> None:
        self.controller.end()


def test_an_in_memory_transport_and_a_test_sink_drive_a_session_over_an_encoding_bus(
    settings: Settings, astronaut: npt.NDArray[np.uint8], scripted_sensevoice: Path
) -> None:
    speech = pcm16(espeak("Good morning, how are you doing today?"))
    pcm = np.concatenate([np.zeros(8000, "<i2"), speech, np.zeros(16000, "<i2")])
    image = jpeg(astronaut)
    bus = InProcessBus(through_codec=True)
    recognizer = SpeechService(scripted_sensevoice)
    assert recognizer.load().available

    async def scenario() -> tuple[LivePorts, Session, MemoryTransport, Tally]:
        ports = live_ports(settings, bus, recognizer)
        try:
            client = MemoryTransport(ports)
            await client.send("hello", {"consent": {"camera": True, "microphone": True}, "rate_hz": 60})
            welcome = client.channel.control[0]
            assert welcome["type"] == MessageType.WELCOME, welcome
            session = ports.registry.get(welcome["payload"]["session_id"])
            assert session is not None
            tally = Tally()
            session.add_sink(tally)
            t0 = time.monotonic()
            for i in range(0, len(pcm), 1600):  # 100 ms of audio, three video frames, as a client sends them
                await client.send(
                    "audio_chunk",
                    {"pcm": pcm[i : i + 1600].tobytes(), "sample_rate_hz": 16000, "capture_ms": 5000 + i // 16},
                )
                for k in range(3):
                    await client.send("video_frame", {"image": image, "capture_ms": 5000 + i // 16 + 33 * k})
                    await asyncio.sleep(0.033)
            while not tally.transcripts and time.monotonic() - t0 < 30:
                await asyncio.sleep(0.05)
            await client.send("bye", {})
            assert client.controller.close_code == CloseCode.NORMAL
            client.close()
            return ports, session, client, tally
        finally:
            recognizer.close()

    ports, session, client, tally = asyncio.run(scenario())
    # The sink saw what the wire sent, frame for frame, with the inputs that were mapped.
    wire_frames = [m for m in client.channel.data if m["type"] == "avatar_frame"]
    assert len(tally.frames) >= 60 and len(wire_frames) == len(tally.frames)
    assert [meta.sequence for _, meta in tally.frames] == [m["sequence"] for m in wire_frames]
    smiling = [f for f, meta in tally.frames if meta.inputs.face.present]
    assert smiling and max(f.weights[f.channels.index("mouthSmileLeft")] for f in smiling) > 0.5
    assert any(meta.inputs.voice.present and meta.inputs.voice.speaking_probability > 0.5 for _, meta in tally.frames)
    # Every stage's result crossed the bus as bytes: the face, the voice, the recognised speech.
    assert tally.transcripts and tally.transcripts[0] == "the"
    assert any(m["type"] == "transcript" for m in client.channel.data)
    assert any(r.emotion is not None for r in tally.emotions)
    # Ending the client ends the session: the sink is closed and nothing stays subscribed.
    assert tally.closed and len(ports.registry) == 0 and bus.subscriptions == 0
    assert session.state == "closed"
