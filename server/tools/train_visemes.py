"""Trains the real-time viseme model on espeak-ng speech with known phoneme timings.

    python -m server.tools.train_visemes [OUT]  # writes server/models/viseme_prototypes.json (or OUT)

Five voices (American and British, male and female, 130–200 words a minute, low to high
pitch), so that no single synthetic speaker is learnt; each frame is labelled with the viseme
at the centre of its window. Synthetic speech alone does not carry over to people (a model
trained on it agreed with the forced alignment of real read speech on 0.28 of frames), so
the classifier also learns from real read speech: four of Debian's pocketsphinx-testdata
LibriVox recordings (`apt install pocketsphinx-testdata`), labelled by forced alignment of
their transcripts (timed_visemes.py); the fifth is kept for bench/bench_lipsync.py. The
sentences here are for training only; tests and the benchmark measure on other sentences.
Deterministic: the same file every run.
"""

from __future__ import annotations

import json
import re
import sys
import wave
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from avatar_mapping.vocabulary import VISEMES

from ..inference.audio import to_model_rate
from ..inference.espeak import speak
from ..inference.realtime_visemes import (
    CONTEXT,
    HOP,
    PROTOTYPES_PATH,
    RATE_HZ,
    WINDOW,
    LinearClassifier,
    VisemePrototypes,
    features,
)
from ..inference.timed_visemes import timed_phones, viseme_track

TRAINING_SENTENCES = (
    "The quick brown fox jumps over the lazy dog.",
    "Peter Piper picked a peck of pickled peppers.",
    "She sells seashells by the seashore in the summer.",
    "Five wise men found a very fine violin.",
    "Think of the thousand things that the other three thought.",
    "Good luck with the big cake, Greg.",
    "Charlie chose a cheap cherry cheesecake and a jar of jam.",
    "Nine new nurses knew nothing about the night.",
    "Red roses grow around the rural river road.",
    "Father wants a large glass of water, ah.",
    "Ten pens and seven eggs went west.",
    "Eat the green beans and keep the cheese.",
    "Oh no, the old boat goes slowly over the ocean.",
    "Who knew two blue moons would move so soon.",
    "Maybe the baby may play with the paper plane.",
    "Whisper softly, the sun is setting on the street.",
)
# Sentences never used for training, on which the timed visemes (their agreement with
# espeak-ng's own phoneme times) are measured by the tests and bench/bench_lipsync.py; fixed
# before measuring, none dropped when it fails to align.
ALIGNMENT_SENTENCES = (
    "Please bring me the yellow book from the shelf.",
    "Hello there, this is the first sentence.",
    "And here is another one, a little later.",
    "We will meet at noon by the old museum.",
    "My brother keeps a small boat near the harbour.",
    "Turn left at the second light and park behind the shop.",
)
# Sentences never used for training: the tests measure the classifier on these.
HELD_OUT_SENTENCES = (
    "Hello there, this is the first sentence.",
    "And here is another one, a little later.",
    "Please bring me the yellow book from the shelf.",
    "We will meet at noon by the old museum.",
)


# (voice, words per minute, pitch): espeak-ng's American and British English, a female variant.
VOICES = (("en-us", 160, 50), ("en-us", 130, 35), ("en-us", 200, 70), ("en-gb", 160, 50), ("en-us+f3", 170, 60))
L2 = 1e-3  # weight decay of the softmax regression, per frame
LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
LIBRIVOX_HELD_OUT = "sense_and_sensibility_01_austen_64kb-0930"  # bench/bench_lipsync.py's


def read_speech() -> list[tuple[np.ndarray, str]]:
    """The LibriVox recordings used for training: (16 kHz audio, transcript)."""
    if not (LIBRIVOX / "transcription").is_file():
        raise SystemExit(f"no LibriVox recordings at {LIBRIVOX}: apt install pocketsphinx-testdata")
    out = []
    for line in (LIBRIVOX / "transcription").read_text().splitlines():
        m = re.match(r"<s> (.*) </s> \((.*)\)", line.strip())
        if m is None or m.group(2) == LIBRIVOX_HELD_OUT:
            continue
        with wave.open(str(LIBRIVOX / f"{m.group(2)}.wav")) as w:
            pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768.0
            out.append((to_model_rate(pcm, w.getframerate()), m.group(1)))
    return out


def _track_viseme_at(track: np.ndarray, t_ms: float) -> str:
    """The viseme a viseme track (10 ms frames) shows at ``t_ms``."""
    return VISEMES[int(np.argmax(track[min(max(int(t_ms / 10.0), 0), len(track) - 1)]))]


def training_frames() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per frame: MFCCs, log energy, the CONTEXT frames' features, the viseme label, and
    whether the frame is synthetic speech (its label is exact) rather than read speech."""
    mfccs, energies, contexts, labels = [], [], [], []

    def add(audio: np.ndarray, viseme_at: Callable[[float], str]) -> None:
        m, e = features(audio)
        f = np.hstack([m, e[:, None]])
        for i in range(len(m)):
            centre_ms = 1000.0 * ((i + 1) * HOP - WINDOW / 2) / RATE_HZ  # frame i's window ends at (i+1)*HOP
            mfccs.append(m[i])
            energies.append(e[i])
            contexts.append(np.concatenate([f[max(i + o, 0)] for o in CONTEXT]))
            labels.append(viseme_at(centre_ms))

    for voice, rate, pitch in VOICES:
        for sentence in TRAINING_SENTENCES:
            spoken = speak(sentence, voice=voice, words_per_minute=rate, pitch=pitch)
            add(to_model_rate(spoken.audio, spoken.rate_hz), spoken.viseme_at)
    synthetic = len(labels)
    for audio, transcript in read_speech():
        phones, _ = timed_phones(audio, transcript)
        track = viseme_track(phones, 1000.0 * len(audio) / RATE_HZ)
        add(audio, partial(_track_viseme_at, track))
    return (
        np.array(mfccs),
        np.array(energies),
        np.array(contexts),
        np.array(labels),
        np.arange(len(labels)) < synthetic,
    )


def softmax_regression(x: np.ndarray, y: np.ndarray, classes: int) -> np.ndarray:
    """Weights (features + 1, classes) minimising cross-entropy + L2 (L-BFGS, from zeros)."""
    n, d = x.shape
    xb = np.hstack([x, np.ones((n, 1))])
    onehot = np.eye(classes)[y]

    def loss(flat: np.ndarray) -> tuple[float, np.ndarray]:
        w = flat.reshape(d + 1, classes)
        z = xb @ w
        z -= z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        decay = L2 * (w[:-1] ** 2).sum() / 2
        grad = xb.T @ (np.exp(log_p) - onehot) / n
        grad[:-1] += L2 * w[:-1]
        return float(-(onehot * log_p).sum() / n + decay), grad.ravel()

    result = minimize(loss, np.zeros((d + 1) * classes), jac=True, method="L-BFGS-B", options={"maxiter": 500})
    return result.x.reshape(d + 1, classes)


def train() -> VisemePrototypes:
    m, e, contexts, labels_arr, synthetic = training_frames()
    # The silence gate, the loudness and the prototypes from the synthetic speech (exact labels).
    speech = (labels_arr != "sil") & synthetic
    gate = float(np.percentile(e[speech], 5))
    present = [v for v in VISEMES if v != "sil" and (labels_arr[synthetic] == v).sum() >= 5]
    mean = np.array([m[synthetic & (labels_arr == v)].mean(axis=0) for v in present])
    std = np.array([m[synthetic & (labels_arr == v)].std(axis=0) + 0.5 for v in present])
    # The classifier learns from the frames the gate lets through (the rest are silence anyway).
    heard = e >= gate
    classes = tuple(v for v in VISEMES if (labels_arr[heard] == v).sum() >= 5)
    x = contexts[heard]
    centre, spread = x.mean(axis=0), x.std(axis=0) + 1e-6
    y = np.array([classes.index(v) for v in labels_arr[heard]])
    weights = softmax_regression((x - centre) / spread, y, len(classes))
    return VisemePrototypes(
        mean,
        std,
        tuple(present),
        gate,
        float(np.percentile(e[speech], 95)),
        LinearClassifier(classes, centre, spread, weights),
    )


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else PROTOTYPES_PATH
    prototypes = train()
    out.write_text(json.dumps(prototypes.to_dict(), indent=1) + "\n")
    print(f"wrote {out}: {len(prototypes.visemes)} visemes")
