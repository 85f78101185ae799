"""Deterministic replays of a recording through two strategies, and the report."""

import html
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from avatar_mapping.features import HeadPose
from avatar_mapping.rig import RigDefinition
from avatar_mapping.voice_features import VoiceFeatures
from server.assets.rig_store import RigStore
from server.assets.strategy_registry import StrategyRegistry
from server.protocol.recording import Recorder, Recording, new_header
from server.settings import Settings
from server.tools.ab_replay import ReplayError, Variant, replay
from server.tools.ab_report import better_of, render_html, report_data
from tests.support.paths import REPO
from tests.support.samples import sample_face


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    path = tmp_path_factory.mktemp("rec") / "smile.cborseq"
    rec = Recorder(path.open("wb"), new_header("arkit52", "direct", {}, None, 60.0, "synthetic"))
    for k in range(90):  # 3 s at 30 fps: a smile rising and falling, the head turning, speech in the middle
        f = sample_face(1.5 + 1.5 * np.sin(k / 9.0))
        f = type(f)(**{**f.__dict__, "head": HeadPose(10 * np.sin(k / 15.0), 0.0, 0.0)})
        speaking = 0.9 if 30 <= k < 60 else 0.05
        rec.write(k * 1000 / 30, f, VoiceFeatures(True, k * 33, speaking, np.eye(15)[10 if speaking > 0.5 else 0], 0.8))
    rec.close()
    return Recording.read(path)


@pytest.fixture(scope="module")
def rig() -> RigDefinition:
    rig = RigStore.from_dir(REPO / "rigs", REPO / "no-uploads").get("arkit52")
    assert rig is not None
    return rig


def test_replays_are_bit_identical_and_strategies_differ(recording: Recording, rig: RigDefinition) -> None:
    registry = StrategyRegistry(REPO / "rigs")
    a1 = replay(recording, Variant.parse("direct"), rig, registry)
    a2 = replay(recording, Variant.parse("direct"), rig, registry)
    b = replay(recording, Variant.parse("hybrid:accent=0.5"), rig, registry)
    assert a1.stream_bytes() == a2.stream_bytes() and len(a1.frames) == 179
    assert a1.stream_bytes() != b.stream_bytes()
    assert a1.metrics.jitter_below_target and a1.metrics.mouth_speech is not None


def test_variants_parse_and_bad_ones_are_refused(recording: Recording, rig: RigDefinition) -> None:
    assert Variant.parse("hybrid:accent=0.5,mode=soft") == Variant("hybrid", {"accent": 0.5, "mode": "soft"})
    assert Variant.parse('au_linear:{"gain": 2}').params == {"gain": 2}
    with pytest.raises(ReplayError, match="key=value"):
        Variant.parse("hybrid:accent")
    with pytest.raises(ReplayError):
        replay(recording, Variant.parse("no_such_strategy"), rig, StrategyRegistry(REPO / "rigs"))


def test_the_report_renders_with_traces_metrics_and_votes(recording: Recording, rig: RigDefinition) -> None:
    registry = StrategyRegistry(REPO / "rigs")
    a = replay(recording, Variant.parse("direct"), rig, registry)
    b = replay(recording, Variant.parse("emotion_preset"), rig, registry)
    votes = {
        "pairs": [
            {
                "strategies": ["direct", "emotion_preset"],
                "n": 10,
                "wins": {"direct": 7, "emotion_preset": 3},
                "win_rate": {"direct": 0.7, "emotion_preset": 0.3},
                "ci95": {"direct": [0.4, 0.89], "emotion_preset": [0.11, 0.6]},
                "p_value": 0.34,
                "significant": False,
            }
        ]
    }
    data = report_data("smile.cborseq", a, b, votes)
    page = render_html(data, a, b)
    assert page.count("<polyline") >= 2 and "jitter" in page and "p = 0.34" in page
    assert "0 s</text>" in page and ">0.5</text>" in page  # traces have a time axis and a weight axis
    assert "no winner yet" in page and "<th>winner</th>" in page and "A better on" in page
    assert "jitter (% of range per frame; target < 5) (lower is better)" in html.unescape(page)  # labels in full
    significant = dict(votes["pairs"][0], significant=True)
    assert "<b>direct wins</b>" in render_html(report_data("s", a, b, {"pairs": [significant]}), a, b)
    assert data["votes"]["n"] == 10 and data["A"]["metrics"]["jitter_percent"] >= 0


def test_the_better_side_of_a_metric() -> None:
    assert better_of(1.0, 2.0, "lower") == "A" and better_of(1.0, 2.0, "higher") == "B"
    assert better_of(1.0, 1.01, "lower") == "tie" and better_of(None, 1.0, "lower") == ""


def test_a_consenting_session_is_recorded_and_replayable(client: TestClient, astronaut: npt.NDArray[np.uint8]) -> None:
    """consent.record: the session's features (not its video) land in a recording served by
    REST, which replays."""
    import cbor2

    from tests.support.media import jpeg
    from tests.support.ws_client import msg, recv

    image = jpeg(astronaut)
    with client.websocket_connect("/v1/stream") as ws:
        ws.send_bytes(
            cbor2.dumps(
                {
                    "type": "hello",
                    "payload": {
                        "consent": {"camera": True, "microphone": False, "record": True},
                        "rig": "arkit52",
                        "rate_hz": 30,
                    },
                }
            )
        )
        sid = recv(ws)["payload"]["session_id"]
        for i in range(40):
            ws.send_bytes(msg("video_frame", {"image": image, "capture_ms": 1000 + 33 * i}))
            recv(ws)
        ws.send_bytes(msg("bye"))
    listed = {r["id"]: r for r in client.get("/v1/recordings").json()}
    assert sid in listed and listed[sid]["bytes"] > 1000
    data = client.get(f"/v1/recordings/{sid}").content
    assert image[:64] not in data  # features only, never the frames
    assert isinstance(client.app, FastAPI)
    path = client.app.state.services.recordings.find(sid)
    rec = Recording.read(path)
    assert rec.header.source == f"session:{sid}" and any(s.face.present for s in rec.samples)
    rig = RigStore.from_dir(REPO / "rigs", REPO / "no-uploads").get("arkit52")
    assert rig is not None
    out = replay(rec, Variant.parse("direct"), rig, StrategyRegistry(REPO / "rigs"))
    assert out.weights[:, out.channels.index("mouthSmileLeft")].max() > 0.5
    assert client.delete(f"/v1/recordings/{sid}").status_code == 200
    assert client.get(f"/v1/recordings/{sid}").status_code == 404
    with client.websocket_connect("/v1/stream") as ws:
        ws.send_bytes(msg("hello", {"consent": {"camera": True, "record": "yes"}}))
        assert "consent.record" in recv(ws)["payload"]["message"]


@pytest.fixture()
def client(settings: Settings) -> Iterator[TestClient]:
    from server.app import create_app

    with TestClient(create_app(settings)) as c:
        yield c


def test_record_a_video_then_replay_and_report_from_the_command_line(
    tmp_path: Path,
    astronaut: npt.NDArray[np.uint8],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import cv2

    from server import cli

    monkeypatch.setenv("AVATAR_DRIVER_DATA_DIR", str(settings.data_dir))
    video = tmp_path / "clip.mp4"
    h, w = astronaut.shape[:2]
    out = cv2.VideoWriter(str(video), cv2.VideoWriter.fourcc(*"mp4v"), 30, (w, h))
    for i in range(30):
        m = cv2.getRotationMatrix2D((w / 2, h / 2), 10 * np.sin(i / 5), 1.0)
        out.write(cv2.warpAffine(cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR), m, (w, h), borderMode=cv2.BORDER_REFLECT))
    out.release()
    rec = tmp_path / "clip.cborseq"
    assert cli.main(["record", str(video), "--out", str(rec)]) == 0
    runs: list[bytes] = []
    for k in range(2):
        assert (
            cli.main(
                [
                    "ab",
                    "replay",
                    str(rec),
                    "--a",
                    "direct",
                    "--b",
                    "hybrid:accent=0.5",
                    "--out",
                    str(tmp_path / f"run{k}"),
                ]
            )
            == 0
        )
        runs.append(
            (tmp_path / f"run{k}" / "a.cborseq").read_bytes() + (tmp_path / f"run{k}" / "b.cborseq").read_bytes()
        )
    assert runs[0] == runs[1] and len(runs[0]) > 10_000
    assert (
        cli.main(
            [
                "ab",
                "report",
                str(rec),
                "--a",
                "direct",
                "--b",
                "emotion_preset",
                "--out",
                str(tmp_path / "new" / "dir" / "r.html"),
            ]
        )
        == 0
    )  # a folder that did not exist
    report_dir = tmp_path / "new" / "dir"
    assert "<svg" in (report_dir / "r.html").read_text() and (report_dir / "r.json").is_file()
    assert cli.main(["ab", "replay", str(rec), "--a", "nope", "--b", "direct"]) == 1
    # a user without a stored table: the error says where it looked and how to point elsewhere
    assert cli.main(["ab", "replay", str(rec), "--a", "direct", "--b", "direct", "--calibration", "nobody"]) == 1
    err = capsys.readouterr().err
    assert str(settings.data_dir / "calibration.sqlite3") in err and "AVATAR_DRIVER_DATA_DIR" in err
