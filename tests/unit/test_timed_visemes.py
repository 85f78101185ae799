"""Timed visemes from pocketsphinx alignment, checked against espeak-ng's own phoneme timing."""

from itertools import pairwise

import numpy as np
import numpy.typing as npt
import pytest

from avatar_mapping.vocabulary import VISEMES
from server.inference.audio import to_model_rate
from server.inference.espeak import speak
from server.inference.timed_visemes import (
    AlignmentError,
    Phone,
    align,
    timed_phones,
    viseme_changes,
    viseme_track,
    visemes_at,
)
from server.tools.train_visemes import ALIGNMENT_SENTENCES

MIN_AGREEMENT = 0.78  # of 10 ms frames (measured 0.81; bench/bench_lipsync.py prints it for five voices)
MAX_MEDIAN_BOUNDARY_ERROR_MS = 20.0


@pytest.fixture(scope="module")
def measured() -> tuple[dict[str, list[int]], list[float]]:
    stats = {"alignment": [0, 0], "recognition": [0, 0]}
    errors: list[float] = []
    for text in ALIGNMENT_SENTENCES:
        spoken = speak(text)
        audio = to_model_rate(spoken.audio, spoken.rate_hz)
        phones, how = timed_phones(audio, text)
        track = viseme_track(phones, 1000.0 * len(audio) / 16000)
        stats[how][0] += sum(
            VISEMES[int(np.argmax(w))] == spoken.viseme_at((i + 0.5) * 10.0) for i, w in enumerate(track)
        )
        stats[how][1] += len(track)
        if how == "alignment":
            predicted = viseme_changes([(p.start_ms, p.viseme) for p in phones])
            truth = viseme_changes(spoken.visemes())
            errors += [min(abs(b - x) for x in predicted) for b in truth]
    return stats, errors


def test_forced_alignment_meets_the_targets(measured: tuple[dict[str, list[int]], list[float]]) -> None:
    stats, errors = measured
    aligned, frames = stats["alignment"]
    agreement = aligned / frames
    fallback = stats["recognition"][0] / max(stats["recognition"][1], 1)
    print(
        f"timed visemes: aligned agreement {agreement:.3f} on {frames} frames, median boundary error "
        f"{np.median(errors):.1f} ms; phone-recognition fallback {fallback:.3f} on {stats['recognition'][1]} frames"
    )
    assert stats["recognition"][1] == 0  # every sentence aligned: none fell back to recognition
    assert agreement >= MIN_AGREEMENT
    assert np.median(errors) <= MAX_MEDIAN_BOUNDARY_ERROR_MS


def test_without_a_transcript_phone_recognition_finds_speech() -> None:
    spoken = speak(ALIGNMENT_SENTENCES[0])
    phones, how = timed_phones(to_model_rate(spoken.audio, spoken.rate_hz))
    assert how == "recognition" and len([p for p in phones if p.viseme != "sil"]) >= 15
    assert all(b.start_ms >= a.start_ms for a, b in pairwise(phones))


def test_crossfades_are_smooth_and_sum_to_one() -> None:
    track = viseme_track([Phone(100, 200, "AA"), Phone(200, 300, "S")], 400)
    assert np.allclose(track.sum(axis=1), 1.0)
    aa = track[:, VISEMES.index("aa")]
    assert aa[15] == pytest.approx(1.0) and aa[35] == 0.0
    assert np.max(np.abs(np.diff(aa))) <= 10.0 / 40.0 + 1e-9  # 40 ms ramps at 10 ms frames
    closing = viseme_track([Phone(100, 200, "AA"), Phone(200, 300, "M")], 400)[:, VISEMES.index("PP")]
    assert np.max(np.abs(np.diff(closing))) <= 0.5  # lips close faster, still over two frames


def test_bad_transcripts_are_reported() -> None:
    audio = to_model_rate(speak("hello").audio, 22050)
    with pytest.raises(AlignmentError, match="no words"):
        align(audio, "!!!")


def test_numbers_and_words_the_dictionary_lacks_are_aligned_where_they_are_spoken() -> None:
    """Digits used to be stripped and unknown words failed the alignment; espeak-ng now
    pronounces both (server/inference/pronunciations.py): the word's phones start where
    espeak-ng itself started speaking it."""
    from server.inference.espeak import phonemes_of
    from server.inference.pronunciations import arpabet

    def strip(m: str) -> str:
        return m.lstrip("',%=")

    for text, word in (
        ("Please bring me 12 yellow books from the shelf.", "12"),
        ("Please bring me the Zyxoid book from the shelf.", "zyxoid"),
    ):
        spoken = speak(text)
        phones = align(to_model_rate(spoken.audio, spoken.rate_hz), text)
        names, expected = [p.name for p in phones], arpabet(word).split()
        at = next(i for i in range(len(names)) if names[i : i + len(expected)] == expected)
        said = [strip(p) for _, p in spoken.phonemes]
        mine = [strip(p) for p in phonemes_of(word)]
        k = next(i for i in range(len(said)) if said[i : i + len(mine)] == mine)
        assert abs(phones[at].start_ms - spoken.phonemes[k][0]) < 60, (text, phones[at].start_ms, spoken.phonemes[k][0])


def test_coarticulation_holds_a_short_closure_and_anticipates_rounding_without_moving_boundaries() -> None:
    phones = [
        Phone(0, 100, "AA"),
        Phone(100, 130, "M"),
        Phone(130, 230, "AA"),
        Phone(230, 330, "T"),
        Phone(330, 430, "UW"),
    ]
    t = np.arange(0, 430, 1.0) + 0.5
    w = visemes_at(phones, t)
    pp, u, dd = (w[:, VISEMES.index(v)] for v in ("PP", "U", "DD"))
    assert pp[110:121].min() >= 0.78  # a 30 ms closure held (a 40 ms crossfade peaked at 0.75, once)
    assert u[330 - 30] > 0.25 and u[330 - 60] > 0.1 and u[330 - 100] == 0.0  # rounding starts before the vowel...
    top = [VISEMES[i] for i in w.argmax(axis=1)]
    assert top[99] == "aa" and top[101] == "PP" and top[129] == "PP" and top[131] == "aa"  # ...boundaries stay
    assert top[329] == "DD" and top[331] == "U"


def test_a_lead_moves_the_mouth_ahead_of_the_sound() -> None:
    phones = [Phone(0, 200, "AA"), Phone(200, 400, "M")]
    plain, led = viseme_track(phones, 400), viseme_track(phones, 400, lead_ms=40)

    def first(track: npt.NDArray[np.float64]) -> int:
        return int(np.argmax(track[:, VISEMES.index("PP")] > 0.5))

    assert first(plain) - first(led) == 4  # 40 ms earlier at 10 ms frames
