"""`avatar-driver analyze` on a still and on a video the test makes from a real photo."""

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cbor2
import cv2
import numpy as np
import numpy.typing as npt
import pytest

from server.settings import Settings
from server.tools.analyze import AnalyzeError, AnalyzeOptions, analyze_messages
from tests.support.media import rotated_video


def run_cli(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", "analyze", *map(str, args)], capture_output=True, text=True, timeout=120
    )


def test_image_gives_one_emotion_update_and_one_frame(tmp_path: Path, astronaut: npt.NDArray[np.uint8]) -> None:
    img = tmp_path / "astronaut.png"
    cv2.imwrite(str(img), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    out = run_cli(img, "--rig", "simple")
    assert out.returncode == 0, out.stderr
    records = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["type"] for r in records] == ["avatar_frame", "emotion_update"]
    assert records[0]["payload"]["blendshapes"]["smile"] > 0.5
    assert records[1]["payload"]["au"]["AU12"] > 0.5


def test_every_strategy_runs_offline(tmp_path: Path, astronaut: npt.NDArray[np.uint8]) -> None:
    img = tmp_path / "astronaut.png"
    cv2.imwrite(str(img), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    for strategy in ("au_linear", "emotion_preset", "hybrid"):
        out = run_cli(img, "--strategy", strategy)
        assert out.returncode == 0, out.stderr
        frame = json.loads(out.stdout.splitlines()[0])["payload"]
        assert frame["blendshapes"]["mouthSmileLeft"] > 0.3, strategy


def test_cat_gives_a_rest_pose(tmp_path: Path, cat: npt.NDArray[np.uint8]) -> None:
    img = tmp_path / "cat.png"
    cv2.imwrite(str(img), cv2.cvtColor(cat, cv2.COLOR_RGB2BGR))
    records = [json.loads(line) for line in run_cli(img).stdout.splitlines()]
    frame = records[0]["payload"]
    assert frame["face_present"] is False and max(frame["blendshapes"].values()) == 0.0
    assert frame["bone_transforms"]["head"] == [0.0, 0.0, 0.0, 1.0]
    assert records[1]["payload"]["face_present"] is False


def test_video_at_a_chosen_rate_as_cbor(tmp_path: Path, astronaut: npt.NDArray[np.uint8]) -> None:
    angles = [0, 5, 10, 15, 20, 15, 10, 5, 0, -5, -10, -15, -20, -15]
    video = tmp_path / "tilt.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter.fourcc(*"MJPG"), 10, (512, 512))
    for frame in rotated_video(astronaut, angles, [(0, 0)] * len(angles)):
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    out_file = tmp_path / "out.cbor"
    result = run_cli(video, "--format", "cbor", "--rate-hz", 30, "--out", out_file)
    assert result.returncode == 0, result.stderr
    records = list(_cbor_sequence(out_file.read_bytes()))
    frames = [r for r in records if r["type"] == "avatar_frame"]
    assert len(frames) == 42  # 1.4 s of video at 30 Hz
    assert [f["sequence"] for f in frames] == list(range(42))
    assert [f["timestamp_ms"] for f in frames[:3]] == [0, 33, 67]
    rolls = [f["payload"]["bone_transforms"]["head_roll_deg"] for f in frames]
    assert max(rolls) - min(rolls) > 25  # follows the ±20° tilt (smoothed)


def _cbor_sequence(data: bytes) -> Iterator[Any]:
    import io

    f = io.BytesIO(data)
    while f.tell() < len(data):
        yield cbor2.load(f)


def test_errors_are_clear(tmp_path: Path, settings: Settings) -> None:
    with pytest.raises(AnalyzeError, match="no such file"):
        list(analyze_messages(AnalyzeOptions(tmp_path / "nope.mp4"), settings))
    (tmp_path / "x.png").write_bytes(b"junk")
    with pytest.raises(AnalyzeError, match="unknown rig"):
        list(analyze_messages(AnalyzeOptions(tmp_path / "x.png", rig="nope"), settings))
    with pytest.raises(AnalyzeError, match="unknown strategy"):
        list(analyze_messages(AnalyzeOptions(tmp_path / "x.png", strategy="nope"), settings))
    with pytest.raises(AnalyzeError, match="not a readable image"):
        list(analyze_messages(AnalyzeOptions(tmp_path / "x.png"), settings))
    out = run_cli(tmp_path / "nope.mp4")
    assert out.returncode == 1 and "no such file" in out.stderr


def test_a_wav_alone_gives_a_speaking_mouth(tmp_path: Path) -> None:
    from server.inference.espeak import speak
    from tests.support.media import wav_bytes

    text = "Please bring me the yellow book from the shelf."
    spoken = speak(text)
    wav = tmp_path / "line.wav"
    wav.write_bytes(wav_bytes(spoken.audio, spoken.rate_hz))
    out = run_cli(wav, "--transcript", text, "--rate-hz", 30, "--rig", "arkit52", "--strategy", "hybrid")
    assert out.returncode == 0, out.stderr
    frames = [json.loads(line) for line in out.stdout.splitlines() if '"avatar_frame"' in line[:40]]
    assert len(frames) == int(np.ceil(1000 * len(spoken.audio) / spoken.rate_hz * 30 / 1000))
    visemes = {f["payload"]["viseme"] for f in frames}
    assert {"PP", "aa"} <= visemes and not any(f["payload"]["face_present"] for f in frames)
    # hybrid shows the visemes on the ARKit mouth: the jaw opens during the line
    assert max(f["payload"]["blendshapes"]["jawOpen"] for f in frames) > 0.3


def test_video_with_audio(tmp_path: Path, astronaut: npt.NDArray[np.uint8]) -> None:
    from server.inference.espeak import speak
    from tests.support.media import wav_bytes

    video = tmp_path / "still.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter.fourcc(*"MJPG"), 10, (512, 512))
    for _ in range(20):
        writer.write(cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    writer.release()
    spoken = speak("Hello there.")
    wav = tmp_path / "hello.wav"
    wav.write_bytes(wav_bytes(spoken.audio, spoken.rate_hz))
    out = run_cli(video, "--audio", wav, "--transcript", "hello there", "--rate-hz", 20)
    assert out.returncode == 0, out.stderr
    records = [json.loads(line) for line in out.stdout.splitlines()]
    frames = [r for r in records if r["type"] == "avatar_frame"]
    emotions = [r for r in records if r["type"] == "emotion_update"]
    assert any(f["payload"]["viseme"] != "sil" for f in frames) and frames[-1]["payload"]["face_present"]
    assert max(e["payload"]["speaking_probability"] or 0 for e in emotions) > 0.5


def test_recorded_speech_as_mp3_gives_a_speaking_mouth_and_a_summary(tmp_path: Path) -> None:
    """Issue 25, item 9: `analyze talk.mp3` said "not a readable video". A real person reading
    (LibriVox, pocketsphinx-testdata) as MP3: the voice path alone, no face, a clear summary."""
    from server.tools.animate import read_wav
    from server.tools.train_visemes import LIBRIVOX
    from tests.support.recorded_audio import encode

    samples, rate = read_wav((LIBRIVOX / "sense_and_sensibility_01_austen_64kb-0880.wav").read_bytes())
    assert rate == 16000
    talk = tmp_path / "talk.mp3"
    talk.write_bytes(encode(samples, "mp3"))
    out = run_cli(talk, "--rate-hz", 30)
    assert out.returncode == 0, out.stderr
    frames = [json.loads(line) for line in out.stdout.splitlines() if '"avatar_frame"' in line[:40]]
    assert len(frames) >= int(30 * len(samples) / rate)  # MP3 adds a little padding
    assert not any(f["payload"]["face_present"] for f in frames)
    assert max(f["payload"]["blendshapes"]["jawOpen"] for f in frames) > 0.2
    assert "talk.mp3: audio only (no face)" in out.stderr and "not a readable video" not in out.stderr


def test_a_group_photo_reports_how_many_faces_it_saw(tmp_path: Path) -> None:
    """Issue 25, item 10: five people with ~100 px faces were "no face", silently."""
    from tests.support.group_photo import group_photo

    img = tmp_path / "group.png"
    cv2.imwrite(str(img), cv2.cvtColor(group_photo()[0], cv2.COLOR_RGB2BGR))
    out = run_cli(img)
    assert out.returncode == 0, out.stderr
    records = [json.loads(line) for line in out.stdout.splitlines()]
    assert records[0]["payload"]["face_present"] is True
    emotion = next(r["payload"] for r in records if r["type"] == "emotion_update")
    assert emotion["faces_seen"] == 5  # the output says so too, not only the terminal
    assert "faces_seen 5" in out.stderr and "the largest drives the avatar" in out.stderr


def test_no_face_anywhere_is_said(tmp_path: Path, cat: npt.NDArray[np.uint8]) -> None:
    img = tmp_path / "cat.png"
    cv2.imwrite(str(img), cv2.cvtColor(cat, cv2.COLOR_RGB2BGR))
    out = run_cli(img)
    assert out.returncode == 0 and "no face found in any frame" in out.stderr
