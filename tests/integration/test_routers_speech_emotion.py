"""POST /v1/speech-emotion: a recording in, its report out (JSON or HTML), streamed."""

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from fastapi.testclient import TestClient

from server.app import create_app
from server.settings import Settings
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
    import socket

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
