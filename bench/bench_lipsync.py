"""Lip-sync accuracy: how many 10 ms frames show the right viseme. Prints JSON; not a test.

Truth: espeak-ng's own phoneme timing (server/inference/espeak.py) on six fixed sentences
that no model here was trained on, spoken by seven voices — American and British, male and
female, 130–200 words a minute, low to high pitch; the last two voices were not used to
train the real-time classifier. For each voice and path:

* ``alignment``: `timed_phones` with the transcript (forced alignment, then the audio's
  corrections: window centre, spectral change, pauses), as /v1/animate and analyze do;
* ``aligner_alone``: pocketsphinx's alignment as it reports it, no corrections (the
  baseline, measured in the same run; sentences it cannot align fall back to recognition,
  as the first version did);
* ``phone_recognition``: no transcript, `timed_phones` without one (pocketsphinx's phone
  recognition, then the same corrections), what /v1/animate does without a transcript;
* ``realtime``: the live classifier, streaming, scored at each window's centre.

Also the median distance of each true viseme change from the nearest predicted one (aligned),
and real speech from Debian's pocketsphinx-testdata (when installed), where no frame truth
exists: whether every LibriVox recording aligns with its transcript, and on the recordings
the real-time classifier was not trained on (one LibriVox reader's held-out line, and other
speakers: "go forward ten meters", TIDIGITS digits, five playing-card phrases) how often the
transcript-free paths agree with the forced alignment (phone recognition shares the
aligner's acoustic model, so its agreement flatters it).

Usage: python bench/bench_lipsync.py
"""

from __future__ import annotations

import json
import re
import sys
import wave
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from avatar_mapping.vocabulary import VISEMES
from server.inference.audio import to_model_rate
from server.inference.espeak import SpokenText, speak
from server.inference.realtime_visemes import RATE_HZ, WINDOW, RealtimeVisemes
from server.inference.timed_visemes import (
    AlignmentError,
    Phone,
    align,
    recognise_phones,
    timed_phones,
    viseme_changes,
    viseme_track,
)
from server.tools.train_visemes import ALIGNMENT_SENTENCES, LIBRIVOX, LIBRIVOX_HELD_OUT

VOICES = (
    ("en-us", 160, 50),
    ("en-us", 130, 35),
    ("en-us", 200, 70),
    ("en-gb", 160, 50),
    ("en-us+f3", 170, 60),
    ("en-us+m3", 150, 40),
    ("en-gb-x-rp", 180, 60),
)
UNSEEN_BY_THE_CLASSIFIER = {"en-us+m3", "en-gb-x-rp"}
PATHS = ("alignment", "aligner_alone", "phone_recognition", "phone_recognition_alone", "realtime")


def frames_right(track: np.ndarray, spoken: SpokenText) -> tuple[int, int]:
    return sum(VISEMES[int(np.argmax(w))] == spoken.viseme_at((j + 0.5) * 10.0) for j, w in enumerate(track)), len(
        track
    )


def aligner_alone(audio: np.ndarray, text: str) -> list[Phone]:
    try:
        return align(audio, text)
    except AlignmentError:
        return recognise_phones(audio)


def realtime(audio: np.ndarray, spoken: SpokenText) -> tuple[int, int]:
    right = total = 0
    rv = RealtimeVisemes()
    for i in range(0, len(audio), 1600):
        for f in rv.push(audio[i : i + 1600], 1000.0 * min(i + 1600, len(audio)) / RATE_HZ):
            right += VISEMES[int(np.argmax(f.weights))] == spoken.viseme_at(f.end_ms - 500.0 * WINDOW / RATE_HZ)
            total += 1
    return right, total


def voice_scores(voice: str, rate: int, pitch: int) -> dict[str, Any]:
    counts = {k: [0, 0] for k in PATHS}
    boundary_errors = []
    for text in ALIGNMENT_SENTENCES:
        spoken = speak(text, voice=voice, words_per_minute=rate, pitch=pitch)
        audio = to_model_rate(spoken.audio, spoken.rate_hz)
        duration = 1000.0 * len(audio) / 16000
        phones, _ = timed_phones(audio, text)
        tracks = {
            "alignment": viseme_track(phones, duration),
            "aligner_alone": viseme_track(aligner_alone(audio, text), duration),
            "phone_recognition": viseme_track(timed_phones(audio)[0], duration),
            "phone_recognition_alone": viseme_track(recognise_phones(audio), duration),
        }
        for name, track in tracks.items():
            right, total = frames_right(track, spoken)
            counts[name][0] += right
            counts[name][1] += total
        right, total = realtime(audio, spoken)
        counts["realtime"][0] += right
        counts["realtime"][1] += total
        predicted = viseme_changes([(p.start_ms, p.viseme) for p in phones])
        boundary_errors += [min(abs(b - x) for x in predicted) for b in viseme_changes(spoken.visemes())]
    out = {name: round(r / t, 4) for name, (r, t) in counts.items()}
    out["frames"] = counts["alignment"][1]
    out["median_boundary_error_ms"] = round(float(np.median(boundary_errors)), 1)
    out["classifier_trained_on_this_voice"] = voice not in UNSEEN_BY_THE_CLASSIFIER
    return out


def read(path: Path) -> np.ndarray:
    """16 kHz float audio of a WAV, or of headerless 16 kHz s16le (.raw)."""
    if path.suffix == ".raw":
        return np.frombuffer(path.read_bytes(), "<i2").astype(np.float32) / 32768
    with wave.open(str(path)) as w:
        pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768
        return to_model_rate(pcm, w.getframerate())


def agreement_with_alignment(audio: np.ndarray, transcript: str) -> dict[str, Any]:
    duration = 1000.0 * len(audio) / 16000
    phones, how = timed_phones(audio, transcript)
    truth = viseme_track(phones, duration).argmax(axis=1)
    classified = [f.weights.argmax() for f in RealtimeVisemes().push(audio, duration)]
    live = np.array(classified[1:] + classified[-1:])  # frame k + 1 is centred nearest to row k's centre
    recognised = viseme_track(timed_phones(audio)[0], duration).argmax(axis=1)
    n = min(len(truth), len(live))
    return {
        "aligned": how == "alignment",
        "frames": n,
        "realtime": round(float((live[:n] == truth[:n]).mean()), 4),
        "phone_recognition": round(float((recognised[:n] == truth[:n]).mean()), 4),
    }


def transcribed(line: str) -> re.Match[str]:
    """A pocketsphinx-testdata transcription line: group 1 the words, group 2 the recording."""
    m = re.match(r"<s> (.*) </s> \((.*)\)", line.strip())
    assert m is not None, line
    return m


def real_speech() -> dict[str, Any] | None:
    if not (LIBRIVOX / "transcription").is_file():
        return None
    data = LIBRIVOX.parent
    lines = [transcribed(line) for line in (LIBRIVOX / "transcription").read_text().splitlines()]
    aligned = sum(timed_phones(read(LIBRIVOX / f"{m.group(2)}.wav"), m.group(1))[1] == "alignment" for m in lines)
    held_out = {
        "librivox " + LIBRIVOX_HELD_OUT: (
            LIBRIVOX / f"{LIBRIVOX_HELD_OUT}.wav",
            next(m.group(1) for m in lines if m.group(2) == LIBRIVOX_HELD_OUT),
        ),
        "goforward": (data / "goforward.raw", "go forward ten meters"),
        "tidigits dhd.2934z": (data / "tidigits" / "dhd.2934z.raw", "two nine three four zero"),
    }
    for line in (data / "cards" / "cards.transcription").read_text().splitlines():
        m = transcribed(line)
        held_out[f"cards {m.group(2)}"] = (data / "cards" / f"{m.group(2)}.wav", m.group(1).strip())
    scores = {name: agreement_with_alignment(read(path), text) for name, (path, text) in held_out.items()}
    weight = sum(s["frames"] for s in scores.values())
    mean = {
        k: round(sum(s[k] * s["frames"] for s in scores.values()) / weight, 4)
        for k in ("realtime", "phone_recognition")
    }
    return {
        "librivox_recordings": len(lines),
        "librivox_aligned": aligned,
        "held_out_agreement_with_alignment": mean,
        "held_out": scores,
    }


def main() -> None:
    voices = {f"{v} {r} wpm pitch {p}": voice_scores(v, r, p) for v, r, p in VOICES}
    mean = {k: round(float(np.mean([s[k] for s in voices.values()])), 4) for k in PATHS}
    american = {
        k: round(float(np.mean([s[k] for name, s in voices.items() if name.startswith("en-us")])), 4) for k in PATHS
    }
    print(
        json.dumps(
            {
                "targets": {"alignment": 0.80, "phone_recognition": 0.65, "realtime": 0.70},
                "mean_over_voices": mean,
                "mean_over_american_voices": american,
                "ratio_alignment_to_aligner_alone": round(mean["alignment"] / mean["aligner_alone"], 3),
                "voices": voices,
                "real_speech": real_speech(),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
