"""Real-time visemes: a frame-level spectral classifier, 10 ms hop, ~23 ms added latency.

Each 10 ms, a 25 ms Hann window ending at the newest sample gives 13 MFCCs and a log
energy. Below the energy gate the frame is silence; otherwise a softmax (linear) classifier
reads the newest frame together with frames 10, 20, 40 and 60 ms older — context from the
past only, so no latency is added — and gives viseme weights and a confidence. Energy also
gives a jaw opening. The model is data (server/models/viseme_prototypes.json), trained by
`python -m server.tools.train_visemes` on several espeak-ng voices. It also keeps
per-viseme Gaussian prototypes (mean MFCCs), which score frames when a file has no
classifier (the first model). A user's voice calibration moves the prototypes toward their
held sounds and sets the energy gate and the jaw's range from their loudness; the classifier
itself is not adapted — measured, shifting its input by the user's offset made it worse
(tests/unit/test_viseme_calibration.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray
from scipy.fft import dct

from avatar_mapping.vocabulary import VISEMES
from avatar_mapping.voice_features import N_MFCC

RATE_HZ = 16000
HOP = 160  # 10 ms
WINDOW = 400  # 25 ms
N_FFT = 512
N_MELS = 26
PROTOTYPES_PATH = Path(__file__).resolve().parents[1] / "models" / "viseme_prototypes.json"


def _mel_filterbank() -> np.ndarray:
    mel: Callable[[float], float] = lambda f: 2595 * np.log10(1 + f / 700)  # noqa: E731
    inv: Callable[[NDArray[np.float64]], NDArray[np.float64]] = lambda m: 700 * (10 ** (m / 2595) - 1)  # noqa: E731
    points = inv(np.linspace(mel(80), mel(7600), N_MELS + 2))
    bins = np.floor((N_FFT + 1) * points / RATE_HZ).astype(int)
    fb = np.zeros((N_MELS, N_FFT // 2 + 1))
    for i in range(N_MELS):
        lo, mid, hi = bins[i], bins[i + 1], bins[i + 2]
        fb[i, lo:mid] = (np.arange(lo, mid) - lo) / max(mid - lo, 1)
        fb[i, mid:hi] = (hi - np.arange(mid, hi)) / max(hi - mid, 1)
    return fb


_FB = _mel_filterbank()
_WIN = np.hanning(WINDOW)


def frame_features(window: np.ndarray) -> tuple[np.ndarray, float]:
    """(13 MFCCs, log energy) of one 25 ms window at 16 kHz."""
    spectrum = np.abs(np.fft.rfft(window * _WIN, N_FFT)) ** 2
    log_mel = np.log(_FB @ spectrum + 1e-10)
    return dct(log_mel, type=2, norm="ortho")[:N_MFCC], float(np.log(np.mean(window**2) + 1e-10))


def features(audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Features of every 10 ms hop of a whole 16 kHz signal (frame i ends at sample (i+1)*HOP)."""
    padded = np.concatenate([np.zeros(WINDOW - HOP, np.float32), audio])
    n = len(audio) // HOP
    out = [frame_features(padded[i * HOP : i * HOP + WINDOW]) for i in range(n)]
    return np.array([o[0] for o in out]).reshape(n, N_MFCC), np.array([o[1] for o in out])


CONTEXT = (0, -1, -2, -4, -6)  # frames (10 ms) the classifier reads: the newest and older ones


@dataclass(frozen=True)
class LinearClassifier:
    """Softmax regression over the CONTEXT frames' (13 MFCCs + log energy), standardised."""

    classes: tuple[str, ...]
    feature_mean: np.ndarray  # (len(CONTEXT) * (N_MFCC + 1),)
    feature_std: np.ndarray
    weights: np.ndarray  # (features + 1, classes): the last row is the bias

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        z = ((x - self.feature_mean) / self.feature_std) @ self.weights[:-1] + self.weights[-1]
        z = np.exp(z - z.max())
        p: NDArray[np.float64] = z / z.sum()
        return p

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LinearClassifier:
        return cls(tuple(d["classes"]), np.array(d["feature_mean"]), np.array(d["feature_std"]), np.array(d["weights"]))

    def to_dict(self) -> dict[str, Any]:
        return {
            "classes": list(self.classes),
            "feature_mean": self.feature_mean.round(6).tolist(),
            "feature_std": self.feature_std.round(6).tolist(),
            "weights": self.weights.round(6).tolist(),
        }


@dataclass(frozen=True)
class VisemePrototypes:
    mean: np.ndarray  # (visemes, N_MFCC)
    std: np.ndarray
    visemes: tuple[str, ...]
    energy_gate: float  # log energy below which a frame is silence
    loud: float  # log energy of a fully open jaw
    classifier: LinearClassifier | None = None

    @classmethod
    def load(cls, path: Path = PROTOTYPES_PATH) -> VisemePrototypes:
        d = json.loads(Path(path).read_text())
        classifier = LinearClassifier.from_dict(d["classifier"]) if "classifier" in d else None
        return cls(
            np.array(d["mean"]), np.array(d["std"]), tuple(d["visemes"]), d["energy_gate"], d["loud"], classifier
        )

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "visemes": list(self.visemes),
            "mean": self.mean.round(5).tolist(),
            "std": self.std.round(5).tolist(),
            "energy_gate": round(self.energy_gate, 4),
            "loud": round(self.loud, 4),
        }
        if self.classifier is not None:
            d["classifier"] = self.classifier.to_dict()
        return d


class UserVoice(Protocol):
    """A user's recorded visemes, as the calibration wizard measures them (its
    ``calibration.viseme_calibration.VisemeCalibration`` is one): mean MFCC vector and frame count per
    recorded viseme, and the loudness of their noise floor and of their loud speech."""

    @property
    def means(self) -> Mapping[str, Sequence[float]]: ...
    @property
    def frames(self) -> Mapping[str, int]: ...
    @property
    def noise_floor(self) -> float | None: ...
    @property
    def loud(self) -> float: ...


def adapt_prototypes(p: VisemePrototypes, user: UserVoice, tau_frames: float = 60.0) -> VisemePrototypes:
    """A user's prototypes (MAP adaptation): each recorded viseme's mean moves toward the
    user's, weighted by its frame count against tau_frames; the others shift by the mean
    offset of the recorded ones (voice and microphone colouring). The energy gate follows
    the user's noise floor (never below the default) and the jaw's full opening their loud level."""
    mean = p.mean.copy()
    offsets = []
    for v, user_mean in user.means.items():
        if v not in p.visemes:
            continue
        i = p.visemes.index(v)
        n = user.frames[v]
        adapted = (n * np.asarray(user_mean) + tau_frames * p.mean[i]) / (n + tau_frames)
        offsets.append(adapted - p.mean[i])
        mean[i] = adapted
    if offsets:
        shift = np.mean(offsets, axis=0)
        for i, v in enumerate(p.visemes):
            if v not in user.means:
                mean[i] = p.mean[i] + shift
    gate = p.energy_gate if user.noise_floor is None else max(p.energy_gate, user.noise_floor + 2.3)
    loud = max(user.loud, gate + 1.0)
    return VisemePrototypes(mean, p.std, p.visemes, gate, loud, p.classifier)


@dataclass(frozen=True)
class VisemeFrame:
    end_ms: float
    weights: np.ndarray  # over VISEMES
    confidence: float
    jaw_open: float
    mfcc: np.ndarray  # the features it was classified from (for calibration)
    log_energy: float


class RealtimeVisemes:
    """Streaming: push 16 kHz float audio, get a VisemeFrame per completed 10 ms hop."""

    def __init__(self, prototypes: VisemePrototypes | None = None, temperature: float = 4.0):
        self.p = prototypes or VisemePrototypes.load()
        self.temperature = temperature
        self._index = np.array([VISEMES.index(v) for v in self.p.visemes])
        self._tail = np.zeros(WINDOW - HOP, np.float32)
        self._pending = np.zeros(0, np.float32)
        self._history: list[np.ndarray] = []  # the last frames' (MFCCs, log energy), newest last
        self._set_classes()

    def _set_classes(self) -> None:
        c = self.p.classifier
        self._class_index = np.array([VISEMES.index(v) for v in c.classes]) if c is not None else None

    def set_prototypes(self, prototypes: VisemePrototypes) -> None:
        """Switch prototypes mid-stream (a new calibration); the same visemes in the same order."""
        if prototypes.visemes != self.p.visemes:
            raise ValueError("new prototypes must cover the same visemes")
        self.p = prototypes
        self._set_classes()

    def classify(self, mfcc: np.ndarray, log_energy: float) -> tuple[np.ndarray, float, float]:
        """The next frame's (weights over VISEMES, confidence, jaw opening). Frames must come
        in order: the classifier reads the older ones too."""
        self._history = (self._history + [np.append(mfcc, log_energy)])[-(1 - min(CONTEXT)) :]
        weights = np.zeros(len(VISEMES))
        jaw = float(np.clip((log_energy - self.p.energy_gate) / (self.p.loud - self.p.energy_gate), 0.0, 1.0))
        if log_energy < self.p.energy_gate:
            weights[VISEMES.index("sil")] = 1.0
            return weights, 1.0, 0.0
        classifier = self.p.classifier
        if self._class_index is not None and classifier is not None:  # both or neither (_set_classes)
            weights[self._class_index] = classifier.probabilities(self._context())
        else:
            score = -0.5 * (((mfcc - self.p.mean) / self.p.std) ** 2).sum(axis=1) / self.temperature
            z = np.exp(score - score.max())
            weights[self._index] = z / z.sum()
        return weights, float(weights.max()), jaw

    def _context(self) -> np.ndarray:
        """The CONTEXT frames, newest first; before the stream has them, its first frame."""
        h = self._history
        return np.concatenate([h[max(len(h) - 1 + o, 0)] for o in CONTEXT])

    def push(self, audio_16k: np.ndarray, end_ms: float) -> list[VisemeFrame]:
        buffered = np.concatenate([self._pending, audio_16k.astype(np.float32)])
        n = len(buffered) // HOP
        frames = []
        stream = np.concatenate([self._tail, buffered[: n * HOP]])
        for i in range(n):
            mfcc, energy = frame_features(stream[i * HOP : i * HOP + WINDOW])
            w, conf, jaw = self.classify(mfcc, energy)
            frames.append(
                VisemeFrame(end_ms - 1000.0 * (len(buffered) - (i + 1) * HOP) / RATE_HZ, w, conf, jaw, mfcc, energy)
            )
        if n:
            self._tail = stream[-(WINDOW - HOP) :]
        self._pending = buffered[n * HOP :]
        return frames
