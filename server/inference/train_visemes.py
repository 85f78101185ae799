"""Trains the real-time viseme prototypes on espeak-ng speech with known phoneme timings.

    python -m server.inference.train_visemes   # writes server/models/viseme_prototypes.json

The sentences here are for training only; tests measure on other sentences.
"""

from __future__ import annotations

import json

import numpy as np

from avatar_mapping.vocabulary import VISEMES

from .audio import to_model_rate
from .espeak import speak
from .realtime_visemes import HOP, PROTOTYPES_PATH, RATE_HZ, VisemePrototypes, features

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


def training_frames() -> tuple[np.ndarray, np.ndarray, list[str]]:
    mfccs, energies, labels = [], [], []
    for sentence in TRAINING_SENTENCES:
        spoken = speak(sentence)
        audio = to_model_rate(spoken.audio, spoken.rate_hz)
        m, e = features(audio)
        for i in range(len(m)):
            centre_ms = (i + 0.5) * 1000.0 * HOP / RATE_HZ
            mfccs.append(m[i])
            energies.append(e[i])
            labels.append(spoken.viseme_at(centre_ms))
    return np.array(mfccs), np.array(energies), labels


def train() -> VisemePrototypes:
    m, e, labels = training_frames()
    labels_arr = np.array(labels)
    speech = labels_arr != "sil"
    gate = float(np.percentile(e[speech], 5))
    present = [v for v in VISEMES if v != "sil" and (labels_arr == v).sum() >= 5]
    mean = np.array([m[labels_arr == v].mean(axis=0) for v in present])
    std = np.array([m[labels_arr == v].std(axis=0) + 0.5 for v in present])
    return VisemePrototypes(mean, std, tuple(present), gate, float(np.percentile(e[speech], 95)))


if __name__ == "__main__":
    prototypes = train()
    PROTOTYPES_PATH.write_text(json.dumps(prototypes.to_dict(), indent=1) + "\n")
    print(f"wrote {PROTOTYPES_PATH}: {len(prototypes.visemes)} visemes")
