"""Speech-emotion reports of recorded files: utterances, window votes, the two scorers."""

import io
import json
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from avatar_mapping.vocabulary import EMOTIONS
from server.inference.sensevoice import SpeechRecognition
from server.inference.speech_service import SpeechService
from server.models.store import ModelStore
from server.settings import Settings
from server.tools.speech_emotion import (
    UNKNOWN,
    ProsodyScorer,
    SpeechEmotionOptions,
    Utterance,
    WindowScore,
    analyze_speech_emotion,
    scorer_for,
    vote,
    window_starts,
)
from server.tools.speech_emotion_html import write_report
from tests.support.recorded_audio import Passage, calm_and_excited, encode


@pytest.fixture(scope="module")
def vad() -> Path:
    return ModelStore(Settings().models).require("silero_vad")


@pytest.fixture(scope="module")
def two_rounds() -> tuple[npt.NDArray[np.float32], list[Passage]]:
    return calm_and_excited(rounds=2)


def overlap(u: Utterance, p: Passage) -> float:
    return max(0.0, min(u.end_s, p.end_s) - max(u.start_s, p.start_s))


def arousal_of(u: Utterance) -> float:
    assert u.arousal is not None, u
    return u.arousal


def test_calm_and_excited_passages_of_a_recording_are_told_apart_by_prosody(
    vad: Path, two_rounds: tuple[npt.NDArray[np.float32], list[Passage]]
) -> None:
    """Twelve lines, alternating calm and excited passages, in an MP3: one utterance per line,
    found where it was spoken, low arousal for every calm line and high for every excited one."""
    samples, passages = two_rounds
    progress: list[float] = []
    report = analyze_speech_emotion(
        io.BytesIO(encode(samples, "mp3", rate=44100)), vad, ProsodyScorer(), progress=progress.append
    )
    assert report.source == "prosody" and report.classes == ("low", "medium", "high")
    assert report.duration_s == pytest.approx(len(samples) / 16000, abs=0.1)
    assert progress == sorted(progress) and progress[-1] == pytest.approx(report.duration_s)
    assert len(report.utterances) == len(passages)
    for u, p in zip(report.utterances, passages, strict=True):
        assert overlap(u, p) > 0.85 * (p.end_s - p.start_s)
        assert u.label == ("low" if p.style == "calm" else "high"), (u, p)
        assert u.confidence == 1.0 and u.text == ""
    calm = [arousal_of(u) for u, p in zip(report.utterances, passages, strict=True) if p.style == "calm"]
    excited = [arousal_of(u) for u, p in zip(report.utterances, passages, strict=True) if p.style == "excited"]
    assert min(excited) > max(calm) + 0.3
    dist = report.distribution()
    calm_s = sum(p.end_s - p.start_s for p in passages if p.style == "calm")
    assert dist["low"]["utterances"] == dist["high"]["utterances"] == 6 and dist["medium"]["utterances"] == 0
    assert dist["low"]["seconds"] == pytest.approx(calm_s, rel=0.08)
    assert sum(d["share"] for d in dist.values()) == pytest.approx(1.0, abs=1e-3)
    assert all(0 <= a <= 1 for _, a in report.arousal_curve) and len(report.arousal_curve) >= len(passages)


def test_a_long_utterance_is_voted_on_by_overlapping_windows(vad: Path) -> None:
    """Three calm lines run together, then three excited ones: two utterances of ~12 and ~8 s,
    each decided by the majority of its 4 s windows (hop 2 s)."""
    samples, passages = calm_and_excited(joined=True)
    report = analyze_speech_emotion(io.BytesIO(encode(samples, "flac")), vad, ProsodyScorer())
    assert [u.label for u in report.utterances] == ["low", "high"]
    calm, excited = report.utterances
    assert sum(calm.votes.values()) >= 5 and sum(excited.votes.values()) >= 3
    assert calm.confidence >= 0.8 and excited.confidence >= 0.6

    def points_in(u: Utterance) -> list[float]:
        return [t for t, _ in report.arousal_curve if u.start_s <= t <= u.end_s]

    assert len(points_in(calm)) == sum(calm.votes.values())


def test_speech_longer_than_the_utterance_limit_is_cut(vad: Path) -> None:
    samples, _ = calm_and_excited(joined=True)
    options = SpeechEmotionOptions(max_utterance_s=5.0)
    report = analyze_speech_emotion(io.BytesIO(encode(samples, "wav")), vad, ProsodyScorer(), options)
    lengths = [u.end_s - u.start_s for u in report.utterances]
    assert len(lengths) >= 4 and max(lengths) <= 5.0 + 0.032  # to the VAD frame (32 ms)


def test_silence_gives_an_empty_report_not_an_error(vad: Path) -> None:
    report = analyze_speech_emotion(io.BytesIO(encode(np.zeros(16000 * 5, np.float32), "wav")), vad, ProsodyScorer())
    assert report.utterances == () and report.speech_s == 0
    assert all(d["share"] == 0 for d in report.distribution().values())


def test_audio_is_analysed_as_it_arrives(vad: Path) -> None:
    """Fed through a ByteStream (as an upload is), the analysis reports progress on the first
    half of the file while the second half has not been sent yet."""
    import threading

    from server.inference.audio_file import ByteStream

    data = encode(calm_and_excited()[0], "wav")
    progress: list[float]
    stream, half_done, progress = ByteStream(max_chunks=2), threading.Event(), []

    def feed() -> None:
        for i in range(0, len(data), 32768):
            if i >= len(data) // 2:
                assert half_done.wait(30), "nothing was analysed from the first half"
            stream.write_chunk(data[i : i + 32768])
        stream.finish()

    def seen(seconds: float) -> None:
        progress.append(seconds)
        if seconds >= 5:
            half_done.set()

    feeder = threading.Thread(target=feed)
    feeder.start()
    report = analyze_speech_emotion(stream, vad, ProsodyScorer(), SpeechEmotionOptions(), seen)
    feeder.join()
    assert half_done.is_set() and len(report.utterances) == 6 and progress[0] < 11


def test_majority_vote() -> None:
    def w(label: str | None, **scores: float) -> WindowScore:
        return WindowScore(label, scores)

    label, share, votes = vote([w("happy"), w("sad"), w("happy")])
    assert label == "happy" and share == pytest.approx(2 / 3) and votes == {"happy": 2, "sad": 1}
    # A tie goes to the class with more summed score; unscorable windows do not vote.
    tie = [w("sad", sad=0.6, happy=0.4), w("happy", happy=0.9, sad=0.1), w(None)]
    assert vote(tie)[:2] == ("happy", 0.5)
    assert vote([w(None), w(None)]) == (UNKNOWN, 0.0, {})


def test_windows_cover_the_utterance_and_end_flush() -> None:
    assert window_starts(3 * 16000, 64000, 32000) == [0]
    assert window_starts(int(4.9 * 16000), 64000, 32000) == [0]
    starts = window_starts(11 * 16000, 64000, 32000)
    assert starts[:4] == [0, 32000, 64000, 96000] and starts[-1] + 64000 == 11 * 16000


def test_sensevoice_votes_with_its_emotion_scores_and_transcribes(
    vad: Path, scripted_sensevoice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tiny SenseVoice model through the production loader (it always hears "the" and
    favours HAPPY): every utterance is happy by all its windows' votes, with its transcript."""
    samples, passages = calm_and_excited(joined=True)
    speech = SpeechService(scripted_sensevoice, device="cpu")
    assert speech.load().available
    calls: list[int] = []
    real_batch = speech.recognize_batch_blocking

    # the real model, its batch sizes noted
    def counted(stretches: list[npt.NDArray[np.float32]]) -> list[SpeechRecognition] | None:
        calls.append(len(stretches))
        return real_batch(stretches)

    monkeypatch.setattr(speech, "recognize_batch_blocking", counted)
    try:
        scorer = scorer_for(speech)
        report = analyze_speech_emotion(io.BytesIO(encode(samples, "ogg")), vad, scorer)
        windows = sum(sum(u.votes.values()) for u in report.utterances)
        # One model call per utterance: itself and its windows batched.
        assert calls == [sum(u.votes.values()) + 1 for u in report.utterances] and sum(calls) == windows + 2
        calls.clear()
        long = samples[: 16000 * 20]  # 20 s: 9 windows and the utterance, more than a batch
        scores, _ = scorer.judge(long, [long[i : i + 64000] for i in range(0, 16000 * 17, 32000)])
        assert calls == [8, 2] and [w.label for w in scores] == ["happy"] * 9
    finally:
        speech.close()
    assert report.source == "sensevoice" and report.classes == EMOTIONS
    assert [u.label for u in report.utterances] == ["happy", "happy"]
    assert all(u.confidence == 1.0 and "the" in u.text for u in report.utterances)
    assert report.distribution()["happy"]["share"] == 1.0
    files = write_report(report, tmp_path / "out" / "report.html", "test")
    assert [f.name for f in files] == ["report.html", "report.json"] and all(f.is_file() for f in files)


def test_without_sensevoice_weights_the_scorer_is_prosody(tmp_path: Path) -> None:
    speech = SpeechService(tmp_path / "nothing-here")
    speech.load()
    assert isinstance(scorer_for(speech), ProsodyScorer)


def test_the_command_writes_the_page_and_its_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from server.cli import main

    samples, _ = calm_and_excited()
    recording = tmp_path / "talk.flac"
    recording.write_bytes(encode(samples, "flac"))
    monkeypatch.setenv("AVATAR_DRIVER_SENSEVOICE_DIR", str(tmp_path / "none"))
    assert main(["analyze", str(recording), "--emotion-report", str(tmp_path / "out" / "talk.html")]) == 0
    page = (tmp_path / "out" / "talk.html").read_text()
    data = json.loads((tmp_path / "out" / "talk.json").read_text())
    assert (
        "Speech emotion: talk.flac" in page and [u["label"] for u in data["utterances"]] == ["low"] * 3 + ["high"] * 3
    )
    assert main(["analyze", str(tmp_path / "README.md"), "--emotion-report", str(tmp_path / "x.json")]) == 1
    recording.with_name("notes.txt").write_text("not audio")
    assert main(["analyze", str(recording.with_name("notes.txt")), "--emotion-report", str(tmp_path / "x.json")]) == 1
    err = capsys.readouterr().err
    assert "no such file" in err and "not a readable audio file" in err and not (tmp_path / "x.json").exists()
