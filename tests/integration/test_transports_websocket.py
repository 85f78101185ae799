"""End to end over WebSocket with the real app and the real face model."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cbor2
import numpy as np
import numpy.typing as npt
import pytest
import websockets
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.types import Message
from starlette.websockets import WebSocketDisconnect

from avatar_mapping.avatar_frame import AvatarFrame
from avatar_mapping.emotion_report import EmotionReport
from server.app import create_app
from server.inference.sensevoice import SpeechRecognition
from server.protocol.packed import unpack_avatar_frame
from server.settings import Settings
from server.sinks.base import FrameMeta, MessageMeta
from tests.support.media import jpeg
from tests.support.server import serving
from tests.support.ws_client import hello, msg, recv, recv_until


@pytest.fixture()
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


def test_hello_frames_and_a_smiling_avatar(client: TestClient, astronaut: npt.NDArray[np.uint8]) -> None:
    image = jpeg(astronaut)
    with client.websocket_connect("/v1/stream") as ws:
        ws.send_bytes(hello(rig="arkit52", rate_hz=60))
        welcome = recv(ws)
        assert welcome["type"] == "welcome"
        sid = welcome["payload"]["session_id"]
        assert welcome["payload"]["channels"][:2] == ["browDownLeft", "browDownRight"]
        frames: list[dict[str, Any]] = []
        for i in range(30):
            ws.send_bytes(msg("video_frame", {"image": image, "capture_ms": 1000 + 33 * i}, i))
            frames.append(recv_until(ws, "avatar_frame"))
        while len(frames) < 60:
            m = recv(ws)
            if m["type"] == "avatar_frame":
                frames.append(m)
        ws.send_bytes(msg("bye"))
    seqs = [f["sequence"] for f in frames]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs) and all(f["session_id"] == sid for f in frames)
    last = frames[29]["payload"]  # the last one while video was still flowing
    assert last["face_present"] is True
    assert last["blendshapes"]["mouthSmileLeft"] > 0.5 and last["blendshapes"]["mouthSmileRight"] > 0.5
    assert set(last["bone_transforms"]) >= {"head", "neck", "left_eye", "right_eye", "head_yaw_deg"}
    assert abs(np.linalg.norm(last["bone_transforms"]["head"]) - 1) < 1e-6
    # The output clock runs at the requested rate whatever the input rate.
    intervals = np.diff([f["timestamp_ms"] for f in frames[10:]])
    assert 10 <= np.median(intervals) <= 25


def test_with_inference_workers_the_face_is_tracked_in_a_worker_process(
    settings: Settings, astronaut: npt.NDArray[np.uint8], cat: npt.NDArray[np.uint8]
) -> None:
    """`serve --workers 1`: the same stream, the face inferred in another process; the session's
    worker lets go of it when the session ends."""
    with TestClient(create_app(settings.model_copy(update={"inference_workers": 1}))) as c:
        assert isinstance(c.app, FastAPI)
        workers = c.app.state.services.inference_workers
        assert workers is not None and workers.size == 1
        with c.websocket_connect("/v1/stream") as ws:
            ws.send_bytes(hello(rate_hz=30, strategy="direct"))
            sid = recv(ws)["payload"]["session_id"]
            smiling = None
            deadline = time.monotonic() + 30  # the worker process loads its models first (slow when busy)
            for i in itertools.count():
                if time.monotonic() > deadline:
                    break
                ws.send_bytes(msg("video_frame", {"image": jpeg(astronaut), "capture_ms": 1000 + 33 * i}, i))
                m = recv_until(ws, "avatar_frame")
                if m["payload"]["face_present"] and m["payload"]["blendshapes"]["mouthSmileLeft"] > 0.5:
                    smiling = m
                    break
            assert smiling is not None and workers.worker_of(sid) == 0
            ws.send_bytes(msg("video_frame", {"image": b"\xff\xd8\xff" + b"\x00" * 40, "capture_ms": 99_000}))
            assert recv_until(ws, "error")["payload"]["code"] == "bad_image"  # from the worker, the session goes on
            ws.send_bytes(msg("bye"))
        for _ in range(50):
            if workers.worker_of(sid) is None:
                break
            time.sleep(0.05)
        assert workers.worker_of(sid) is None


def test_emotion_updates_carry_aus_and_pose(client: TestClient, astronaut: npt.NDArray[np.uint8]) -> None:
    with client.websocket_connect("/v1/stream") as ws:
        ws.send_bytes(hello(rate_hz=30))
        recv(ws)
        for i in range(6):
            ws.send_bytes(msg("video_frame", {"image": jpeg(astronaut), "capture_ms": 33 * i}))
            recv_until(ws, "avatar_frame")
        for _ in range(20):
            e = recv_until(ws, "emotion_update")
            if e["payload"]["face_present"]:
                break
    p = e["payload"]
    assert p["au"]["AU12"] > 0.5 and set(p["head_pose"]) >= {"yaw_deg", "pitch_deg", "roll_deg"}
    # Until the face-emotion classifier lands, scores come from the AU prototypes, and say so.
    assert p["emotion"] == "happy" and p["emotion_source"] == "face_cnn+au_prototypes+au_intensity"
    assert abs(sum(p["scores"].values()) - 1) < 1e-6 and p["speaking_probability"] is None


def test_watcher_receives_the_same_frames(client: TestClient, astronaut: npt.NDArray[np.uint8]) -> None:
    with client.websocket_connect("/v1/stream") as ws:
        ws.send_bytes(hello(rate_hz=30))
        sid = recv(ws)["payload"]["session_id"]
        with client.websocket_connect(f"/v1/sessions/{sid}/watch?format=packed") as watcher:
            welcome = recv(watcher)
            assert welcome["payload"]["watching"] is True and welcome["payload"]["format"] == "packed"
            ws.send_bytes(msg("video_frame", {"image": jpeg(astronaut), "capture_ms": 1}))
            own = {recv_until(ws, "avatar_frame")["sequence"] for _ in range(5)}
            watched: list[dict[int, Any]] = []  # packed: integer keys
            for _ in range(10):
                m = recv_until(watcher, "avatar_frame")
                watched.append(m)
            assert {m[3] for m in watched} & own
            named = unpack_avatar_frame(watched[-1], welcome["payload"]["channels"], welcome["payload"]["bones"])
            assert named["session_id"] == sid
    with pytest.raises(WebSocketDisconnect) as e, client.websocket_connect("/v1/sessions/nope/watch") as w:
        recv(w)
    assert e.value.code == 4404


def test_a_named_session_keeps_its_watchers_across_a_new_avatar_and_a_takeover(
    client: TestClient, astronaut: npt.NDArray[np.uint8]
) -> None:
    """The viewer reconnects with another rig under the same session_name: the watcher (an OBS
    overlay) is told the publisher paused, then gets a welcome for the new rig and its frames."""
    image, name = jpeg(astronaut), "alice-stream-01"
    with client.websocket_connect("/v1/stream") as ws:
        ws.send_bytes(hello(rate_hz=30, session_name=name))
        assert recv(ws)["payload"]["session_id"] == name
        with client.websocket_connect(f"/v1/sessions/{name}/watch") as watcher:
            assert recv(watcher)["payload"]["rig"] == "arkit52"
            ws.send_bytes(msg("bye"))
            paused = recv_until(watcher, "session_paused")
            assert paused["payload"] == {"reason": "ended", "resume_within_s": 120.0} and paused["session_id"] == name
            with client.websocket_connect("/v1/stream") as again:
                again.send_bytes(hello(rate_hz=30, session_name=name, rig="simple"))
                assert recv(again)["payload"]["session_id"] == name
                welcome = recv_until(watcher, "welcome")
                assert welcome["payload"]["rig"] == "simple" and welcome["payload"]["watching"] is True
                again.send_bytes(msg("video_frame", {"image": image, "capture_ms": 1}))
                assert recv_until(watcher, "avatar_frame")["session_id"] == name
                # A third connection under the name takes it over; the second is closed as replaced.
                with client.websocket_connect("/v1/stream") as third:
                    third.send_bytes(hello(rate_hz=30, session_name=name))
                    assert recv(third)["payload"]["session_id"] == name
                    with pytest.raises(WebSocketDisconnect) as e:
                        while True:
                            recv(again)
                    assert e.value.code == 4409
                    assert recv_until(watcher, "session_paused")["payload"]["reason"] == "replaced"
                    assert recv_until(watcher, "welcome")["payload"]["rig"] == "arkit52"
                    third.send_bytes(msg("bye"))
    for bad in ("short", "has space in it", 12345678):
        with client.websocket_connect("/v1/stream") as ws:
            ws.send_bytes(hello(session_name=bad))
            assert "session_name" in recv_until(ws, "error")["payload"]["message"]


def test_a_watcher_may_wait_for_a_name_that_is_not_live_yet(
    client: TestClient, astronaut: npt.NDArray[np.uint8]
) -> None:
    """An OBS browser source opened before the tracker starts."""
    name = "overlay-before-stream"
    with client.websocket_connect(f"/v1/sessions/{name}/watch?wait=true") as watcher:
        assert recv(watcher)["payload"] == {"reason": "waiting", "resume_within_s": 120.0}
        with client.websocket_connect("/v1/stream") as ws:
            ws.send_bytes(hello(rate_hz=30, session_name=name))
            recv(ws)
            assert recv_until(watcher, "welcome")["payload"]["session_id"] == name
            ws.send_bytes(msg("bye"))
    with pytest.raises(WebSocketDisconnect) as e, client.websocket_connect("/v1/sessions/x/watch?wait=true") as w:
        recv(w)
    assert e.value.code == 1008  # only a valid session name may be waited for


def test_bad_input_gets_specific_errors_and_the_session_survives(
    client: TestClient, astronaut: npt.NDArray[np.uint8]
) -> None:
    with client.websocket_connect("/v1/stream") as ws:
        ws.send_bytes(msg("video_frame", {"image": b"x"}))
        assert recv(ws)["payload"]["code"] == "no_hello"
        ws.send_bytes(b"\xff\xfe garbage")
        assert recv(ws)["payload"]["code"] == "bad_message"
        ws.send_bytes(hello(rate_hz=20))
        assert recv(ws)["type"] == "welcome"
        cases = [
            (msg("dance"), "unknown_type"),
            (msg("video_frame", {"image": b"\xff\xd8\xff" + b"\x00" * 50}), "bad_image"),
            (msg("video_frame", {"rgb": b"abc", "width": 10, "height": 10}), "bad_image"),
            (msg("video_frame", {"image": b"x" * (2 * 1024 * 1024 + 1)}), "too_large"),
            (msg("audio_chunk", {"pcm": b"\x00\x00", "sample_rate_hz": 16000}), "no_consent"),
            (hello(), "bad_hello"),
        ]
        for data, code in cases:
            ws.send_bytes(data)
            m = recv_until(ws, "error")
            assert m["payload"]["code"] == code, m
            assert m["payload"]["message"]
        ws.send_bytes(msg("video_frame", {"image": jpeg(astronaut), "capture_ms": 5}))
        for _ in range(200):
            f = recv_until(ws, "avatar_frame")
            if f["payload"]["face_present"]:
                break
        assert f["payload"]["face_present"] is True


def test_no_processing_without_consent(client: TestClient, astronaut: npt.NDArray[np.uint8]) -> None:
    with client.websocket_connect("/v1/stream") as ws:
        ws.send_bytes(hello(camera=False, microphone=True, rate_hz=30))
        recv(ws)
        ws.send_bytes(msg("video_frame", {"image": jpeg(astronaut)}))
        assert recv_until(ws, "error")["payload"]["code"] == "no_consent"
        ws.send_bytes(msg("audio_chunk", {"pcm": b"\x00\x01" * 160, "sample_rate_hz": 16000}))
        frames = [recv_until(ws, "avatar_frame") for _ in range(5)]
    assert not any(f["payload"]["face_present"] for f in frames)
    metrics = client.get("/metrics").text
    assert 'avatar_driver_frames_in_total{kind="video"}' not in metrics
    assert 'avatar_driver_frames_in_total{kind="audio"} 1.0' in metrics


def test_repeated_violations_close_the_connection(settings: Settings) -> None:
    settings.max_errors = 5
    with TestClient(create_app(settings)) as c, c.websocket_connect("/v1/stream") as ws:
        codes: list[str] = []
        with pytest.raises(WebSocketDisconnect) as e:
            for _ in range(10):
                ws.send_bytes(b"\xff")
                codes.append(recv(ws)["payload"]["code"])
        assert e.value.code == 1008 and "too_many_errors" in codes


def test_json_text_messages_work_for_debugging(client: TestClient, astronaut: npt.NDArray[np.uint8]) -> None:
    import base64

    with client.websocket_connect("/v1/stream") as ws:
        ws.send_text(json.dumps({"type": "hello", "payload": {"consent": {"camera": True}, "rig": "simple"}}))
        welcome = recv(ws)
        assert welcome["payload"]["rig"] == "simple" and "smile" in welcome["payload"]["channels"]
        ws.send_text(
            json.dumps(
                {
                    "type": "video_frame",
                    "payload": {"image": base64.b64encode(jpeg(astronaut)).decode(), "capture_ms": 1},
                }
            )
        )
        for _ in range(200):
            f = recv_until(ws, "avatar_frame")
            if f["payload"]["face_present"] and f["payload"]["blendshapes"]["smile"] > 0.5:
                break
        assert f["payload"]["blendshapes"]["smile"] > 0.5


def test_token_and_origin(settings: Settings) -> None:
    settings.token = "s3cret"
    with TestClient(create_app(settings)) as c:
        with c.websocket_connect("/v1/stream") as ws:
            ws.send_bytes(hello())
            assert recv(ws)["payload"]["code"] == "auth_failed"
            with pytest.raises(WebSocketDisconnect) as e:
                recv(ws)
            assert e.value.code == 1008
        with c.websocket_connect("/v1/stream") as ws:
            ws.send_bytes(hello(token="s3cret"))
            sid = recv(ws)["payload"]["session_id"]
            with pytest.raises(WebSocketDisconnect) as e, c.websocket_connect(f"/v1/sessions/{sid}/watch") as w:
                recv(w)
            assert e.value.code == 1008
            with c.websocket_connect(f"/v1/sessions/{sid}/watch?token=s3cret") as w:
                assert recv(w)["type"] == "welcome"
        with (
            pytest.raises(WebSocketDisconnect),
            c.websocket_connect("/v1/stream", headers={"origin": "https://evil.example"}) as ws,
        ):
            recv(ws)
        with c.websocket_connect("/v1/stream", headers={"origin": "http://localhost:5173"}) as ws:
            ws.send_bytes(hello(token="s3cret"))
            assert recv(ws)["type"] == "welcome"


def test_http_endpoints(client: TestClient) -> None:
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["models"] == {
        "face_emotion": True,
        "face_emotion_faceapi": True,
        "face_landmarker": True,
        "faceapi_expression_manifest": True,
        "faceapi_expression_weights": True,
        "fer_emotion_keras": True,
        "sensevoice": False,
        "silero_vad": True,
    }
    assert health["speech_recognition"]["available"] is False  # degraded mode, with its reason
    assert "models fetch sensevoice" in health["speech_recognition"]["reason"]
    rigs = {r["id"]: r for r in client.get("/v1/rigs").json()}
    assert rigs["arkit52"]["channels"] == 52 and "simple" in rigs
    assert client.get("/v1/rigs/simple").json()["channels"][0]["name"] == "smile"
    assert "unknown rig" in client.get("/v1/rigs/nope").json()["detail"]
    assert "avatar_driver_stage_seconds" in client.get("/metrics").text
    assert client.get("/").status_code == 200


def test_microphone_gives_a_live_speaking_probability(client: TestClient, tmp_path: Path) -> None:
    from tests.support.media import espeak, pcm16

    speech = pcm16(espeak("Good morning, how are you doing today?"))
    silence = np.zeros(16000, "<i2")

    def speaking_after(samples: np.ndarray, t0_ms: int) -> float:
        for i in range(0, len(samples), 1600):  # 100 ms chunks, as the viewer sends them
            ws.send_bytes(
                msg(
                    "audio_chunk",
                    {"pcm": samples[i : i + 1600].tobytes(), "sample_rate_hz": 16000, "capture_ms": t0_ms + i // 16},
                )
            )
        for _ in range(40):  # the newest emotion_update after the audio was analysed
            e = recv_until(ws, "emotion_update")
            spoken_visemes.update(f["payload"]["viseme"] for f in frames_seen if f["payload"]["viseme"] != "sil")
            if e["payload"]["speaking_probability"] is not None and e["timestamp_ms"] > sent_at + 150:
                probability: float = e["payload"]["speaking_probability"]
                return probability
        raise AssertionError("no speaking probability")

    import time

    spoken_visemes: set[str] = set()
    frames_seen: list[dict[str, Any]] = []
    emotions_seen: list[dict[str, Any]] = []
    with client.websocket_connect("/v1/stream") as ws:
        original_recv = ws.receive

        def receive() -> Message:  # keep every avatar_frame seen while waiting for emotion updates
            m = original_recv()
            if m.get("bytes"):
                decoded = cbor2.loads(m["bytes"])
                if decoded.get("type") == "avatar_frame":
                    frames_seen.append(decoded)
                elif decoded.get("type") == "emotion_update":
                    emotions_seen.append(decoded)
            return m

        ws.receive = receive  # type: ignore[method-assign]  # deliberate: this session's receive, wrapped
        ws.send_bytes(hello(camera=False, microphone=True, rate_hz=30))
        recv(ws)
        sent_at = int(time.time() * 1000)
        quiet = speaking_after(silence, 0)
        mid = len(speech) // 2
        sent_at = int(time.time() * 1000)
        talking = speaking_after(speech[:mid], 1000)
        ws.send_bytes(msg("bye"))
    assert quiet < 0.3 and talking > 0.5
    assert spoken_visemes, "avatar frames carry the real-time visemes while speaking"
    speech_emotion = [e for e in emotions_seen if e["payload"]["speech_emotion"]]
    last = speech_emotion[-1]["payload"] if speech_emotion else None
    assert last and [e["source"] for e in last["speech_emotion"]] == ["prosody"]  # degraded mode: no SenseVoice here
    assert 0.0 <= last["speech_emotion"][0]["arousal"] <= 1.0
    # No face and no speech-emotion classes: arousal is known, valence is not made up.
    assert last["arousal"] == pytest.approx(last["speech_emotion"][0]["arousal"]) and last["valence"] is None
    assert 'avatar_driver_stage_seconds_count{stage="voice"}' in client.get("/metrics").text


def test_speech_recognition_streams_transcripts_and_speech_emotion(
    settings: Settings, scripted_sensevoice: Path, tmp_path: Path
) -> None:
    """The live path with SenseVoice: VAD segments -> the shared recogniser -> `transcript`
    messages and SenseVoice scores fused into emotion_update (scripted tiny model)."""
    from tests.support.media import espeak, pcm16

    speech = pcm16(espeak("Good morning, how are you doing today?"))
    pcm = np.concatenate([np.zeros(8000, "<i2"), speech, np.zeros(16000, "<i2")])
    settings.sensevoice_dir = scripted_sensevoice
    with TestClient(create_app(settings)) as c:
        assert c.get("/healthz").json()["speech_recognition"]["available"] is True
        with c.websocket_connect("/v1/stream") as ws:
            ws.send_bytes(hello(camera=False, microphone=True, rate_hz=30))
            recv(ws)
            for i in range(0, len(pcm), 1600):
                ws.send_bytes(
                    msg(
                        "audio_chunk",
                        {"pcm": pcm[i : i + 1600].tobytes(), "sample_rate_hz": 16000, "capture_ms": 10_000 + i // 16},
                    )
                )
            transcripts: list[dict[str, Any]] = []
            fused: dict[str, Any] | None = None
            for _ in range(3000):
                m = recv(ws)
                if m["type"] == "transcript":
                    transcripts.append(m["payload"])
                elif m["type"] == "emotion_update" and any(
                    e["source"] == "sensevoice" for e in m["payload"]["speech_emotion"]
                ):
                    fused = m["payload"]
                if fused and any(t["final"] for t in transcripts) and any(not t["final"] for t in transcripts):
                    break
            ws.send_bytes(msg("bye"))
    partial = [t for t in transcripts if not t["final"]]
    final = [t for t in transcripts if t["final"]][0]  # the comma's pause may end a first segment
    assert partial, "sliding windows give results before the speaker stops"
    assert final["text"] == "the" and final["emotion_scores"]["happy"] > 0.99
    # The segment lies on the audio's capture clock, around the spoken part (0.5 s in).
    assert 10_000 + 200 <= final["start_ms"] <= 10_000 + 500 < final["end_ms"] <= 10_000 + len(pcm) // 16
    assert fused is not None
    assert fused["emotion"] == "happy" and fused["emotion_source"] == "prosody+sensevoice"
    assert fused["valence"] > 0.5


def test_lookahead_lipsync_session(client: TestClient, tmp_path: Path) -> None:
    """hello.lipsync lookahead: the mouth comes from streamed phone recognition, 300 ms behind."""
    from tests.support.media import espeak, pcm16

    speech = pcm16(espeak("Please bring me the yellow book from the shelf."))
    pcm = np.concatenate([np.zeros(8000, "<i2"), speech, np.zeros(8000, "<i2")])
    with client.websocket_connect("/v1/stream") as ws:
        ws.send_bytes(hello(camera=False, microphone=True, lipsync={"mode": "lookahead", "delay_ms": 50}))
        assert "delay_ms" in recv_until(ws, "error")["payload"]["message"]
    with client.websocket_connect("/v1/stream") as ws:
        ws.send_bytes(hello(camera=False, microphone=True, rate_hz=30, lipsync={"mode": "lookahead", "delay_ms": 300}))
        recv(ws)
        visemes: set[str] = set()
        # Paced as a microphone sends it: each 100 ms chunk, then the 3 frames of those 100 ms
        # (a burst would be analysed between two output ticks, and the ticks would see little of it).
        for i in range(0, len(pcm) + 8000, 1600):
            if i < len(pcm):
                ws.send_bytes(
                    msg(
                        "audio_chunk",
                        {"pcm": pcm[i : i + 1600].tobytes(), "sample_rate_hz": 16000, "capture_ms": i // 16},
                    )
                )
            visemes |= {recv_until(ws, "avatar_frame")["payload"]["viseme"] for _ in range(3)}
        ws.send_bytes(msg("bye"))
    assert len(visemes - {"sil"}) >= 3, visemes


def test_a_publisher_that_never_says_hello_is_closed(settings: Settings) -> None:
    """300 silent sockets used to stay open for ever; now each is closed at the hello deadline."""
    settings.hello_timeout_s = 0.3
    with TestClient(create_app(settings)) as c, c.websocket_connect("/v1/stream") as ws:
        error = recv(ws)
        with pytest.raises(WebSocketDisconnect) as e:
            recv(ws)
    assert error["payload"]["code"] == "hello_timeout" and e.value.code == 4408


def test_a_failing_session_task_closes_the_session_with_the_reason(settings: Settings) -> None:
    """A session whose output task died used to go silent for ever: no frame, no error, no log."""

    class BrokenSink:  # a plug-in with a bug
        def on_frame(self, frame: AvatarFrame, meta: FrameMeta) -> None:
            raise ZeroDivisionError("a bug in a sink")

        def on_emotion(self, report: EmotionReport, meta: MessageMeta) -> None:
            pass

        def on_transcript(self, result: SpeechRecognition, meta: MessageMeta) -> None:
            pass

        def close(self) -> None:
            pass

    with TestClient(create_app(settings)) as c:
        assert isinstance(c.app, FastAPI)
        with c.websocket_connect("/v1/stream") as ws:
            ws.send_bytes(hello(camera=False, rate_hz=30))
            sid = recv(ws)["payload"]["session_id"]
            c.app.state.services.registry.get(sid).add_sink(BrokenSink())
            error = recv_until(ws, "error")
            with pytest.raises(WebSocketDisconnect) as e:
                while True:
                    recv(ws)
        metrics = c.get("/metrics").text
    assert error["payload"]["code"] == "internal_error" and "output failed" in error["payload"]["message"]
    assert e.value.code == 1011
    assert 'avatar_driver_session_failures_total{task="output"} 1.0' in metrics
    assert "avatar_driver_sessions 0.0" in metrics


def test_refusals_reach_a_real_client_as_their_close_codes(live_server: int) -> None:
    """Closing before accepting answered HTTP 403: browsers saw 1006 and retried for ever."""
    import asyncio

    import websockets

    async def close_code(path: str, **kw: Any) -> int:
        async with websockets.connect(f"ws://127.0.0.1:{live_server}{path}", **kw) as ws:
            try:
                await ws.recv()
            except websockets.ConnectionClosed as e:
                assert e.rcvd is not None  # the server's close frame
                return e.rcvd.code
        raise AssertionError("not closed")

    async def scenario() -> tuple[int, int, int]:
        return (
            await close_code("/v1/sessions/no-such-session/watch"),
            await close_code("/v1/stream", origin="https://evil.example"),
            await close_code("/v1/sessions/x/watch?format=xml"),
        )

    assert asyncio.run(scenario()) == (4404, 1008, 1008)


def test_watchers_that_leave_free_their_place_at_once(settings: Settings) -> None:
    """Issue 24 item 10: a watcher's socket was never read, so one that left was noticed only
    when a send to it failed: 8 `wait=true` watchers that left (nothing is ever sent to a
    name that is not live) kept every new name refused (1013) for `watch_linger_s`, 120 s."""
    settings.max_sessions = 8

    async def scenario(port: int) -> tuple[int, dict[str, Any]]:
        def url(name: str) -> str:
            return f"ws://127.0.0.1:{port}/v1/sessions/{name}/watch?wait=true"

        for i in range(8):
            async with websockets.connect(url(f"overlay-left-{i}")) as gone:
                assert cbor2.loads(await gone.recv(decode=False))["type"] == "session_paused"
        refused, deadline = 0, time.monotonic() + 2.0  # the server is told of the closes at once
        while True:
            try:
                async with websockets.connect(url("overlay-ninth")) as ninth:
                    return refused, cbor2.loads(await asyncio.wait_for(ninth.recv(decode=False), 5))
            except websockets.ConnectionClosed as e:
                assert e.rcvd is not None and e.rcvd.code == 1013 and time.monotonic() < deadline, e
                refused += 1
                await asyncio.sleep(0.05)

    with serving(settings) as port:
        refused, first = asyncio.run(scenario(port))
    assert first["type"] == "session_paused" and first["payload"]["reason"] == "waiting", first
    assert refused <= 3
