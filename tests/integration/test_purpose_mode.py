"""AVATAR_DRIVER_EMOTION_INFERENCE=off: no emotion is inferred anywhere (face CNN, AU
prototypes, SenseVoice's emotion, prosody arousal) while the avatar still moves, speaks and
transcribes, and every emotion_update says so."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from fastapi import FastAPI
from fastapi.testclient import TestClient

from server.app import create_app
from server.settings import Settings
from tests.support.media import jpeg
from tests.support.ws_client import hello, msg, recv


def test_with_emotion_inference_off_the_avatar_moves_and_nothing_infers_emotion(
    settings: Settings, astronaut: npt.NDArray[np.uint8], scripted_sensevoice: Path, tmp_path: Path
) -> None:
    from tests.support.media import espeak, pcm16

    settings.emotion_inference = False
    settings.sensevoice_dir = scripted_sensevoice
    speech = pcm16(espeak("Good morning, how are you doing today?"))
    pcm = np.concatenate([np.zeros(8000, "<i2"), speech, np.zeros(16000, "<i2")])
    image = jpeg(astronaut)
    updates: list[dict[str, Any]] = []
    frames: list[dict[str, Any]] = []
    transcripts: list[dict[str, Any]] = []
    with TestClient(create_app(settings)) as c:
        assert isinstance(c.app, FastAPI)
        assert c.app.state.services.resources.options.face_emotion_model is None  # the CNN is not even loaded
        with c.websocket_connect("/v1/stream") as ws:
            ws.send_bytes(hello(camera=True, microphone=True, rate_hz=30, strategy="hybrid"))
            recv(ws)
            for i in range(0, len(pcm), 1600):
                ws.send_bytes(
                    msg(
                        "audio_chunk",
                        {"pcm": pcm[i : i + 1600].tobytes(), "sample_rate_hz": 16000, "capture_ms": 10_000 + i // 16},
                    )
                )
                ws.send_bytes(msg("video_frame", {"image": image, "capture_ms": 10_000 + i // 16}))
                for _ in range(4):
                    m = recv(ws)
                    {"emotion_update": updates, "avatar_frame": frames, "transcript": transcripts}.get(
                        m["type"], []
                    ).append(m["payload"])
            for _ in range(3000):
                m = recv(ws)
                {"emotion_update": updates, "avatar_frame": frames, "transcript": transcripts}.get(
                    m["type"], []
                ).append(m["payload"])
                if any(t["final"] for t in transcripts):
                    break
            ws.send_bytes(msg("bye"))
    assert updates and all(u["emotion_inference"] is False for u in updates)
    for u in updates:
        assert (u["emotion"], u["scores"], u["emotion_source"], u["valence"], u["arousal"], u["dominance"]) == (
            None,
            {},
            None,
            None,
            None,
            None,
        )
        assert u["speech_emotion"] == []
    assert max(f["blendshapes"]["mouthSmileLeft"] for f in frames) > 0.5  # the face still drives the avatar
    assert max(u["speaking_probability"] or 0 for u in updates) > 0.5 and any(f["visemes"] for f in frames)
    assert any(u["au"]["AU12"] > 0.5 for u in updates)  # measurements are not emotions: still reported
    final = [t for t in transcripts if t["final"]][0]
    assert final["text"] == "the" and final["emotion"] is None and final["emotion_scores"] is None
    assert all(f["particles"] == {} or max(f["particles"].values()) == 0 for f in frames)  # no emotion styling
