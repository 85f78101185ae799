"""POST /v1/speech-emotion: a recording in, its report out (JSON or HTML), streamed."""

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import requests
from fastapi.testclient import TestClient

from server.app import create_app
from server.settings import Settings
from tests.support.media import copied_to_channels, wav_bytes, wav_header
from tests.support.recorded_audio import calm_and_excited, encode


@pytest.fixture(scope="module")
def mp3() -> bytes:
    return encode(calm_and_excited()[0], "mp3", rate=44100, channels=2)


def test_a_recording_gets_its_report_as_json_and_as_a_page(settings: Settings, mp3: bytes) -> None:
    with TestClient(create_app(settings)) as c:
        data = c.post("/v1/speech-emotion", content=mp3, headers={"content-type": "audio/mpeg"})
        page = c.post("/v1/speech-emotion", params={"format": "html", "title": "my talk"}, content=mp3)
        metrics = c.get("/metrics").text
    assert data.status_code == 200, data.text
    report = data.json()
    assert report["source"] == "prosody" and [u["label"] for u in report["utterances"]] == ["low"] * 3 + ["high"] * 3
    assert report["distribution"]["high"]["utterances"] == 3 and report["damaged_packets"] == 0
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<h1>my talk</h1>" in page.text and page.text.count('class="utterance"') == 6
    assert 'avatar_driver_speech_emotion_reports_total{result="ok"} 2.0' in metrics


def test_refusals_are_specific(settings: Settings, mp3: bytes) -> None:
    settings.speech_emotion_max_bytes = len(mp3) - 1
    with TestClient(create_app(settings)) as c:
        too_big = c.post("/v1/speech-emotion", content=mp3)
        streamed_too_big = c.post("/v1/speech-emotion", content=iter([mp3[:100_000], mp3[100_000:]]))
        not_audio = c.post("/v1/speech-emotion", content=b"hello" * 1000)
        bad_format = c.post("/v1/speech-emotion", params={"format": "pdf"}, content=mp3[:10])
        still_fine = c.post("/v1/speech-emotion", content=mp3[: len(mp3) // 2])
    assert too_big.status_code == 413 and streamed_too_big.status_code == 413
    assert not_audio.status_code == 422 and "not a readable audio file" in not_audio.json()["detail"]
    assert bad_format.status_code == 422
    assert still_fine.status_code == 200  # half a recording is a shorter recording


def test_long_recordings_and_disabled_emotion_inference(settings: Settings, mp3: bytes) -> None:
    settings.speech_emotion_max_seconds = 10.0
    with TestClient(create_app(settings)) as c:
        long = c.post("/v1/speech-emotion", content=mp3)
    assert long.status_code == 422 and "longer than the limit of 10 s" in long.json()["detail"]
    settings.emotion_inference = False
    with TestClient(create_app(settings)) as c:
        off = c.post("/v1/speech-emotion", content=mp3)
    assert off.status_code == 403 and "disabled" in off.json()["detail"]


def test_a_slow_chunked_upload_holds_the_only_slot(settings: Settings, mp3: bytes) -> None:
    """On the real server: a chunked upload without a length, sent slowly; meanwhile a second
    request is told to retry (speech_emotion_jobs = 1); the first still gets its whole report."""
    wav = encode(calm_and_excited()[0], "wav")
    sent: list[float] = []
    results: dict[str, requests.Response] = {}

    def slowly() -> Iterator[bytes]:
        for i in range(0, len(wav), 64 * 1024):
            sent.append(time.monotonic())
            yield wav[i : i + 64 * 1024]
            time.sleep(0.05)

    from tests.support.server import serving

    with serving(settings) as port:
        url = f"http://127.0.0.1:{port}/v1/speech-emotion"

        def send_first() -> None:
            results["first"] = requests.post(url, data=slowly(), timeout=60)

        t = threading.Thread(target=send_first)
        t.start()
        while len(sent) < 5 and t.is_alive():
            time.sleep(0.02)
        results["second"] = requests.post(url, data=wav[:50_000], timeout=60)
        t.join(60)
        metrics = requests.get(f"http://127.0.0.1:{port}/metrics").text
    assert results["second"].status_code == 503 and results["second"].headers["retry-after"] == "10"
    first = results["first"]
    assert first.status_code == 200, first.text
    assert len(first.json()["utterances"]) == 6
    assert 'avatar_driver_speech_emotion_reports_total{result="busy"} 1.0' in metrics


def test_nothing_of_the_recording_is_written_to_disk(settings: Settings, mp3: bytes, tmp_path: Path) -> None:
    """Privacy: the upload is decoded from memory; the data folder gains no file."""
    with TestClient(create_app(settings)) as c:
        before = {p for p in settings.data_dir.rglob("*")}
        assert c.post("/v1/speech-emotion", content=mp3).status_code == 200
        after = {p for p in settings.data_dir.rglob("*")}
    assert after == before


def test_a_client_that_leaves_mid_upload_frees_its_slot(settings: Settings, mp3: bytes) -> None:
    """A chunked upload cut off halfway (the socket closed): the analysis stops, the only
    slot is free again, and the next report is made."""
    from tests.support.server import serving

    with serving(settings) as port:
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b"POST /v1/speech-emotion HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
            half = mp3[: len(mp3) // 2]
            s.sendall(f"{len(half):x}\r\n".encode() + half + b"\r\n")
            time.sleep(0.5)
        deadline = time.monotonic() + 10
        while True:
            r = requests.post(f"http://127.0.0.1:{port}/v1/speech-emotion", data=mp3, timeout=60)
            if r.status_code != 503 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    assert r.status_code == 200 and len(r.json()["utterances"]) == 6


def test_a_7_1_recording_is_reported_and_the_server_lives_on(settings: Settings) -> None:
    """Issue 24: any WAV of 8 or more channels POSTed here killed the server (a segfault in
    PyAV). A 7.1 recording of the calm and excited lines gets its report, like its mono."""
    speech = calm_and_excited()[0]
    data = wav_bytes(copied_to_channels(speech, 8), 16000, channels=8)
    with TestClient(create_app(settings)) as c:
        r = c.post("/v1/speech-emotion", content=data)
        healthy = c.get("/healthz").status_code
    assert r.status_code == 200, r.text
    assert [u["label"] for u in r.json()["utterances"]] == ["low"] * 3 + ["high"] * 3 and healthy == 200


def test_format_changes_corrupt_files_and_expanding_files_are_never_a_500(settings: Settings, mp3: bytes) -> None:
    """Issue 24: an MP3 switching 44.1 -> 48 kHz and corrupt MP3/OGG answered 500; a 14 KB WAV
    at 1 Hz held the report slot 149 s."""
    line = calm_and_excited()[0][: 6 * 16000]
    switching = encode(line, "mp3", rate=44100) + encode(line, "mp3", rate=48000, channels=2)
    corrupt: list[bytes] = []
    for container in ("mp3", "ogg"):
        bitten = bytearray(encode(line, container))
        bitten[200:260] = bytes(range(60))
        corrupt.append(bytes(bitten[: len(bitten) // 3]) + bytes(bitten[len(bitten) // 2 :]))
    with TestClient(create_app(settings)) as c:
        r = c.post("/v1/speech-emotion", content=switching)
        assert r.status_code == 200, r.text
        assert r.json()["duration_s"] == pytest.approx(12.0, abs=0.2)
        for data in corrupt:
            assert c.post("/v1/speech-emotion", content=data).status_code in (200, 422)
        started = time.monotonic()
        slow_rate = c.post("/v1/speech-emotion", content=wav_bytes(np.zeros(7000), 1))
        assert slow_rate.status_code == 422 and "1 Hz" in slow_rate.json()["detail"]
        assert time.monotonic() - started < 5


def post_slowly(port: int, pieces: Iterator[bytes], every_s: float) -> tuple[bytes, float]:
    """A chunked POST of ``pieces``, one every ``every_s``, until the server answers (which
    requests would not notice: it sends its whole body first); the answer and when it came."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"POST /v1/speech-emotion HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        s.settimeout(every_s)
        for piece in pieces:
            try:
                s.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                if answer := s.recv(65536):
                    return answer, time.monotonic() - started
            except TimeoutError:
                continue
            except OSError:  # the server answered and closed
                break
        s.settimeout(10)
        return s.recv(65536), time.monotonic() - started


def test_a_trickling_or_stalled_upload_loses_its_slot(settings: Settings) -> None:
    """Issue 24: a client sending 1 byte every 5 s held the only job slot indefinitely. Here
    the idle deadline is 1 s and at least 1024 bytes/s are needed: a byte every 0.2 s is
    refused (408) within a few seconds; so is a client that stops sending; and the next
    client gets the slot."""
    settings.speech_emotion_idle_s = 1.0
    settings.speech_emotion_min_upload_bytes_per_s = 1024
    wav = encode(calm_and_excited()[0], "wav")
    from tests.support.server import serving

    with serving(settings) as port:
        slow, slow_s = post_slowly(port, (wav[i : i + 1] for i in range(200)), 0.2)
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b"POST /v1/speech-emotion HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" + wav[:5000])
            s.settimeout(10)
            stalled = s.recv(65536)
        after = requests.post(f"http://127.0.0.1:{port}/v1/speech-emotion", data=wav, timeout=60)
        metrics = requests.get(f"http://127.0.0.1:{port}/metrics").text
    assert slow.startswith(b"HTTP/1.1 408") and b"bytes/s" in slow and slow_s < 5, slow
    assert stalled.startswith(b"HTTP/1.1 408") and b"no part of the recording arrived for 1 s" in stalled
    assert after.status_code == 200, after.text
    assert 'avatar_driver_speech_emotion_reports_total{result="timeout"} 2.0' in metrics


def test_the_whole_report_has_a_deadline(settings: Settings) -> None:
    """An upload that keeps coming at a fair rate still ends at speech_emotion_timeout_s (408)."""
    settings.speech_emotion_timeout_s = 2.0
    pieces = iter([wav_header(16000, 1, 0xFFFFFFFF)] + [bytes(32000)] * 400)
    from tests.support.server import serving

    with serving(settings) as port:
        answer, took = post_slowly(port, pieces, 0.05)
    assert answer.startswith(b"HTTP/1.1 408") and b"took longer than 2 s" in answer, answer
    assert took < 6
