"""POST /v1/animate: a recorded line and its transcript -> a viseme timeline."""

import socket
from pathlib import Path
from typing import Any

import cbor2
import numpy as np
from fastapi.testclient import TestClient

from server.app import create_app
from server.inference.espeak import speak
from server.settings import Settings
from tests.support.media import wav_bytes


def test_a_spoken_line_becomes_a_timeline(settings: Settings) -> None:
    text = "Please bring me the yellow book from the shelf."
    spoken = speak(text)
    silence = np.zeros(int(0.5 * spoken.rate_hz), np.float32)
    data = wav_bytes(np.concatenate([silence, spoken.audio, silence]), spoken.rate_hz)
    with TestClient(create_app(settings)) as c:
        r = c.post("/v1/animate", params={"transcript": text, "rate_hz": 30}, content=data)
        assert r.status_code == 200, r.text
        t = r.json()
        cb = cbor2.loads(
            c.post("/v1/animate", params={"transcript": text, "rate_hz": 30, "format": "cbor"}, content=data).content
        )
        led = c.post("/v1/animate", params={"transcript": text, "rate_hz": 100, "lead_ms": 40}, content=data).json()
        plain = c.post("/v1/animate", params={"transcript": text, "rate_hz": 100}, content=data).json()
        too_far = c.post("/v1/animate", params={"transcript": text, "lead_ms": 500}, content=data)
        bad = c.post("/v1/animate", content=b"RIFF not really")
        no_text = c.post("/v1/animate", content=data).json()
    assert t["method"] == "alignment" and t["rate_hz"] == 30
    assert len(t["frames"]) == int(np.ceil(t["duration_ms"] * 30 / 1000))
    assert [p["phone"] for p in t["phones"] if p["phone"] != "SIL"][:3] == ["P", "L", "IY"]
    first, middle = t["frames"][2], t["frames"][len(t["frames"]) // 2]
    assert first["viseme"] == "sil" and first["speaking_probability"] < 0.5  # the leading silence
    assert middle["speaking_probability"] > 0.5
    assert {f["viseme"] for f in t["frames"]} >= {"PP", "aa", "sil"}
    assert cb["frames"] == t["frames"]
    assert bad.status_code == 422 and "WAV" in bad.json()["detail"]

    def first_pp(timeline: dict[str, Any]) -> int:
        return next(i for i, f in enumerate(timeline["frames"]) if f["viseme"] == "PP")

    assert led["lead_ms"] == 40 and first_pp(plain) - first_pp(led) == 4  # the mouth 40 ms ahead
    assert too_far.status_code == 422 and "lead_ms" in too_far.json()["detail"]
    assert no_text["method"] == "recognition"


def test_sensevoice_transcript_and_emotion_join_the_timeline(settings: Settings, scripted_sensevoice: Path) -> None:
    """Without a given transcript, SenseVoice's transcript drives the alignment, and its
    speech emotion goes with the line (scripted tiny model: it always says "the")."""
    spoken = speak("the")
    settings.sensevoice_dir = scripted_sensevoice
    with TestClient(create_app(settings)) as c:
        out = c.post("/v1/animate", content=wav_bytes(spoken.audio, spoken.rate_hz)).json()
    assert (out["transcript"], out["transcript_source"], out["method"]) == ("the", "sensevoice", "alignment")
    assert out["speech"]["emotion_scores"]["happy"] > 0.99
    assert "DH" in {p["phone"] for p in out["phones"]}


def test_awkward_and_overlong_wavs_get_an_answer_not_a_500(settings: Settings) -> None:
    """A WAV whose data ends with half a sample used to raise inside numpy (500)."""
    one_s = wav_bytes(np.zeros(16000), 16000)
    odd = bytearray(one_s + b"\x01")
    odd[40:44] = (16000 * 2 + 1).to_bytes(4, "little")  # the data chunk says an odd number of bytes
    odd[4:8] = (len(odd) - 8).to_bytes(4, "little")
    stereo_cut = bytearray(wav_bytes(np.zeros(32000), 16000, channels=2) + b"\x01\x02")
    stereo_cut[40:44] = (64000 + 2).to_bytes(4, "little")
    stereo_cut[4:8] = (len(stereo_cut) - 8).to_bytes(4, "little")
    settings.max_animate_seconds = 2.0
    with TestClient(create_app(settings)) as c:
        assert c.post("/v1/animate", content=bytes(odd)).status_code == 200
        assert c.post("/v1/animate", content=bytes(stereo_cut)).status_code == 200
        long = c.post("/v1/animate", content=wav_bytes(np.zeros(16000 * 3), 16000))
    assert long.status_code == 422 and "3.0 s long; at most 2 s" in long.json()["detail"]


def test_a_wav_too_long_is_refused_by_its_header_before_the_rest_is_sent(settings: Settings) -> None:
    """Issue 24: a 600 s WAV to /v1/animate was refused only after all of it (19 MB) was read.
    On the real server: the header and 64 KiB are sent, then nothing; the 422 comes at once.
    A header that lies (1 s, then data on and on) is refused once the body passes the limit."""
    from tests.support.media import wav_header
    from tests.support.server import serving

    def answer(port: int, declared: int, body: bytes) -> bytes:
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(f"POST /v1/animate HTTP/1.1\r\nHost: x\r\nContent-Length: {declared}\r\n\r\n".encode() + body)
            s.settimeout(5)
            return s.recv(65536)

    long_line = wav_header(16000, 1, 600 * 32000) + bytes(64 * 1024)
    lying = wav_header(16000, 1, 32000) + bytes(8 * 32000)
    with serving(settings) as port:
        refused = answer(port, 44 + 600 * 32000, long_line)
    assert refused.startswith(b"HTTP/1.1 422") and b"600.0 s long; at most 120 s" in refused
    settings.max_animate_seconds = 2.0
    with serving(settings) as port:
        lied = answer(port, 44 + 20 * 32000, lying)
    assert lied.startswith(b"HTTP/1.1 422") and b"goes on past what 2 s of it can be" in lied
