"""Speech emotion of a recorded file, minutes to hours long: utterances, votes and a report.

    decode_blocks (audio_file) -> UtteranceCutter (Silero VAD) -> overlapping windows
      -> a WindowScorer each (SenseVoice's emotion scores, or prosody arousal levels)
      -> utterance-level majority vote -> SpeechEmotionReport (JSON; HTML in speech_emotion_html)

Memory stays bounded whatever the length: one decoded block, one utterance of audio (cut at
``max_utterance_s``) and a few numbers per utterance. Every window also gets a prosody
arousal, which draws the report's arousal curve whichever scorer votes.

With SenseVoice's weights installed the classes are its seven emotions; without them the
classes are prosody arousal levels (low, medium, high) and the report says so: prosody
does not tell pleasant from unpleasant.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypedDict

import numpy as np

from avatar_mapping.vocabulary import EMOTIONS

from ..inference import prosody
from ..inference.audio import MODEL_RATE_HZ
from ..inference.audio_file import AudioLimits, AudioSource, DecodeStats, decode_blocks
from ..inference.vad import FRAME_SAMPLES, VadOptions, VoiceActivityDetector
from ..settings import Settings

if TYPE_CHECKING:
    from ..inference.sensevoice import SpeechRecognition
    from ..inference.speech_service import SpeechService

AROUSAL_LEVELS = ("low", "medium", "high")
AROUSAL_EDGES = (0.35, 0.65)  # arousal below the first is low, from the second on high
UNKNOWN = "unknown"  # an utterance none of whose windows could be scored


@dataclass(frozen=True)
class SpeechEmotionOptions:
    vad_threshold: float = 0.5
    min_silence_ms: float = 400.0  # a pause this long ends an utterance
    min_speech_ms: float = 300.0  # shorter bursts (clicks, breaths) are not utterances
    max_utterance_s: float = 30.0  # longer speech is cut into utterances of this length
    window_s: float = 4.0
    hop_s: float = 2.0
    limits: AudioLimits = AudioLimits()


@dataclass(frozen=True)
class WindowScore:
    label: str | None  # None: this window cannot be scored (too little voiced speech)
    scores: dict[str, float] = field(default_factory=dict)  # over the scorer's classes


@dataclass(frozen=True)
class Utterance:
    start_s: float
    end_s: float
    label: str  # the majority of its windows' labels, or UNKNOWN
    confidence: float  # the share of its voting windows that chose the label
    votes: dict[str, int]
    arousal: float | None  # prosody, over the whole utterance
    text: str = ""


class SpeechEmotionReportDict(TypedDict):
    """SpeechEmotionReport.as_dict: the report's JSON."""

    source: str
    source_note: str
    classes: list[str]
    duration_s: float
    speech_s: float
    damaged_packets: int
    distribution: dict[str, dict[str, float]]
    utterances: list[dict[str, Any]]
    arousal_curve: list[list[float]]
    options: dict[str, Any]


@dataclass(frozen=True)
class SpeechEmotionReport:
    source: str  # "sensevoice" or "prosody"
    classes: tuple[str, ...]
    duration_s: float
    utterances: tuple[Utterance, ...]
    arousal_curve: tuple[tuple[float, float], ...]  # (window centre s, prosody arousal)
    options: SpeechEmotionOptions
    damaged_packets: int = 0  # skipped by the decoder (their audio is missing from the report)

    @property
    def speech_s(self) -> float:
        return sum(u.end_s - u.start_s for u in self.utterances)

    def distribution(self) -> dict[str, dict[str, float]]:
        """Per class (and UNKNOWN when it occurs): utterances, seconds of speech and the share
        of speech time."""
        out = {c: {"utterances": 0, "seconds": 0.0, "share": 0.0} for c in self.classes}
        for u in self.utterances:
            d = out.setdefault(u.label, {"utterances": 0, "seconds": 0.0, "share": 0.0})
            d["utterances"] += 1
            d["seconds"] += u.end_s - u.start_s
        total = self.speech_s
        for d in out.values():
            d["seconds"] = round(d["seconds"], 3)
            d["share"] = round(d["seconds"] / total, 4) if total else 0.0
        return out

    def as_dict(self) -> SpeechEmotionReportDict:
        note = (
            "emotion scores from SenseVoice"
            if self.source == "sensevoice"
            else "prosody arousal levels: SenseVoice's weights are not installed, and prosody does not "
            "tell pleasant from unpleasant"
        )
        return {
            "source": self.source,
            "source_note": note,
            "classes": list(self.classes),
            "duration_s": round(self.duration_s, 3),
            "speech_s": round(self.speech_s, 3),
            "damaged_packets": self.damaged_packets,
            "distribution": self.distribution(),
            "utterances": [
                {
                    **asdict(u),
                    "start_s": round(u.start_s, 3),
                    "end_s": round(u.end_s, 3),
                    "confidence": round(u.confidence, 4),
                    "arousal": None if u.arousal is None else round(u.arousal, 4),
                }
                for u in self.utterances
            ],
            "arousal_curve": [[round(t, 3), round(a, 4)] for t, a in self.arousal_curve],
            "options": {k: v for k, v in asdict(self.options).items() if k != "limits"},
        }


class Decoder(Protocol):
    """What turns a recording into 16 kHz blocks: audio_file.decode_blocks in this process (the
    CLI), or pools.audio_decoder.ChildDecoder in a process that may die (the server)."""

    def __call__(self, source: AudioSource, limits: AudioLimits, stats: DecodeStats) -> Iterator[np.ndarray]: ...


class WindowScorer(Protocol):
    source: str
    classes: tuple[str, ...]

    def judge(self, utterance: np.ndarray, windows: list[np.ndarray]) -> tuple[list[WindowScore], str]:
        """Each window's score, and the utterance's transcript ("" when there is none)."""
        ...


class ProsodyScorer:
    """Arousal levels from prosody, for servers without SenseVoice's weights."""

    source: str = "prosody"
    classes: tuple[str, ...] = AROUSAL_LEVELS

    def judge(self, utterance: np.ndarray, windows: list[np.ndarray]) -> tuple[list[WindowScore], str]:
        return [self.score(w) for w in windows], ""

    @staticmethod
    def score(samples: np.ndarray) -> WindowScore:
        arousal = prosody.estimate(samples).arousal
        if arousal is None:
            return WindowScore(None)
        level = AROUSAL_LEVELS[int(np.searchsorted(AROUSAL_EDGES, arousal, side="right"))]
        return WindowScore(level, {"arousal": arousal})


class SenseVoiceScorer:
    """SenseVoice's emotion scores per window and its transcript per utterance, the windows
    and the utterance batched into model calls of at most BATCH stretches.
    ``recognize_batch``: SpeechService.recognize_batch_blocking (one model, calls serialised)."""

    source: str = "sensevoice"
    classes: tuple[str, ...] = EMOTIONS
    BATCH = 8

    def __init__(self, recognize_batch: Callable[[list[np.ndarray]], list[SpeechRecognition] | None]):
        self._recognize_batch = recognize_batch

    def judge(self, utterance: np.ndarray, windows: list[np.ndarray]) -> tuple[list[WindowScore], str]:
        # An utterance of one window is that window: one stretch, not two.
        stretches = windows if len(windows) == 1 else [utterance] + windows
        heard: list[SpeechRecognition | None] = []
        for i in range(0, len(stretches), self.BATCH):
            heard += self._recognize_batch(stretches[i : i + self.BATCH]) or [None] * len(stretches[i : i + self.BATCH])
        scores = [self._score(h) for h in heard[-len(windows) :]]
        return scores, heard[0].text if heard[0] is not None else ""

    @staticmethod
    def _score(heard: SpeechRecognition | None) -> WindowScore:
        scores = getattr(heard, "emotion_scores", None)
        if scores is None:
            return WindowScore(None)
        return WindowScore(
            EMOTIONS[int(np.argmax(scores))], {e: float(s) for e, s in zip(EMOTIONS, scores, strict=True)}
        )


def vote(windows: list[WindowScore]) -> tuple[str, float, dict[str, int]]:
    """Majority of the windows' labels: (label, share of the voting windows, votes). A tie
    goes to the class with the larger summed score, then to the earlier class."""
    labels = [w.label for w in windows if w.label is not None]
    if not labels:
        return UNKNOWN, 0.0, {}
    votes = Counter(labels)
    best = max(votes.values())
    tied = [label for label, n in votes.items() if n == best]
    if len(tied) > 1:
        mass = {label: sum(w.scores.get(label, 0.0) for w in windows) for label in tied}
        tied.sort(key=lambda label: -mass[label])
    return tied[0], best / len(labels), dict(votes)


def window_starts(n_samples: int, window: int, hop: int) -> list[int]:
    """Starts of overlapping windows covering n_samples, the last one flush with the end; one
    window for an utterance not much longer than a window."""
    if n_samples <= window + hop // 2:
        return [0]
    starts = list(range(0, n_samples - window + 1, hop))
    if starts[-1] + window < n_samples:
        starts.append(n_samples - window)
    return starts


class UtteranceCutter:
    """Streaming speech segmentation with Silero VAD: feed 16 kHz blocks, get (start sample,
    audio) of each utterance once it ends. Holds at most one utterance of audio."""

    def __init__(self, vad_model: Path, options: SpeechEmotionOptions):
        self._vad = VoiceActivityDetector(VadOptions(vad_model, options.vad_threshold))
        self._o = options
        self._pending = np.zeros(0, np.float32)  # samples not yet judged by the VAD
        self._pos = 0  # sample index of _pending[0]
        self._speech: list[np.ndarray] = []
        self._start = 0
        self._held = 0
        self._silent = 0  # samples of silence at the end of _speech
        self._max = int(options.max_utterance_s * MODEL_RATE_HZ)
        self._hangover = int(options.min_silence_ms * MODEL_RATE_HZ / 1000)

    def push(self, block: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
        self._pending = np.concatenate([self._pending, block])
        n = len(self._pending) // FRAME_SAMPLES
        frames = self._vad.push_samples(self._pending[: n * FRAME_SAMPLES], 0.0)
        for i, f in enumerate(frames):
            yield from self._frame(self._pending[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES], f.probability)
        self._pending = self._pending[n * FRAME_SAMPLES :]

    def finish(self) -> Iterator[tuple[int, np.ndarray]]:
        yield from self._emit()

    def _frame(self, frame: np.ndarray, p: float) -> Iterator[tuple[int, np.ndarray]]:
        speech = p >= self._o.vad_threshold
        if self._speech or speech:
            if not self._speech:
                self._start = self._pos
            self._speech.append(frame)
            self._held += len(frame)
            self._silent = 0 if speech else self._silent + len(frame)
            if self._silent >= self._hangover or self._held >= self._max:
                yield from self._emit()
        self._pos += len(frame)

    def _emit(self) -> Iterator[tuple[int, np.ndarray]]:
        if self._speech:
            audio = np.concatenate(self._speech)
            audio = audio[: len(audio) - self._silent]
            self._speech, self._held, self._silent = [], 0, 0
            if len(audio) >= self._o.min_speech_ms * MODEL_RATE_HZ / 1000:
                yield self._start, audio


def options_for(settings: Settings) -> SpeechEmotionOptions:
    return SpeechEmotionOptions(
        limits=AudioLimits(
            max_seconds=settings.speech_emotion_max_seconds,
            max_channels=settings.speech_emotion_max_channels,
            min_bytes_per_s=settings.speech_emotion_min_bytes_per_audio_s,
        )
    )


def scorer_for(speech: SpeechService) -> WindowScorer:
    """SenseVoice when the server's SpeechService (loaded) has it, else prosody."""
    return SenseVoiceScorer(speech.recognize_batch_blocking) if speech.available else ProsodyScorer()


def analyze_speech_emotion(
    source: AudioSource,
    vad_model: Path,
    scorer: WindowScorer,
    options: SpeechEmotionOptions = SpeechEmotionOptions(),
    progress: Callable[[float], None] | None = None,
    decode: Decoder = decode_blocks,
) -> SpeechEmotionReport:
    """The report of a whole file; ``progress(seconds decoded so far)`` after every block.
    Raises AudioFileError (audio_file) for what cannot be decoded or is over the limit."""
    cutter = UtteranceCutter(vad_model, options)
    utterances: list[Utterance] = []
    curve: list[tuple[float, float]] = []
    decoded = 0
    stats = DecodeStats()

    def judge(found: Iterator[tuple[int, np.ndarray]]) -> None:
        for start, audio in found:
            utterance, points = _utterance(start, audio, scorer, options)
            utterances.append(utterance)
            curve.extend(points)

    for block in decode(source, options.limits, stats):
        decoded += len(block)
        judge(cutter.push(block))
        if progress is not None:
            progress(decoded / MODEL_RATE_HZ)
    judge(cutter.finish())
    return SpeechEmotionReport(
        scorer.source,
        scorer.classes,
        decoded / MODEL_RATE_HZ,
        tuple(utterances),
        tuple(curve),
        options,
        stats.damaged_packets,
    )


def _utterance(
    start: int, audio: np.ndarray, scorer: WindowScorer, options: SpeechEmotionOptions
) -> tuple[Utterance, list[tuple[float, float]]]:
    window, hop = int(options.window_s * MODEL_RATE_HZ), int(options.hop_s * MODEL_RATE_HZ)
    starts = window_starts(len(audio), window, hop)
    pieces = [audio[s : s + window] for s in starts]
    scores, text = scorer.judge(audio, pieces)
    curve = []
    for s, piece in zip(starts, pieces, strict=True):
        arousal = prosody.estimate(piece).arousal
        if arousal is not None:
            curve.append(((start + s + len(piece) / 2) / MODEL_RATE_HZ, arousal))
    label, confidence, votes = vote(scores)
    arousal = prosody.estimate(audio).arousal
    t0 = start / MODEL_RATE_HZ
    return Utterance(t0, t0 + len(audio) / MODEL_RATE_HZ, label, confidence, votes, arousal, text), curve
