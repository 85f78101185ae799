"""SenseVoice through FunASR: transcript, language, audio events and speech-emotion scores.

The only FunASR/torch boundary. The model directory is the one FunASR's hub download
produces (``config.yaml``, ``configuration.json``, ``model.pt``, the BPE model,
``am.mvn``); it is loaded with ``funasr.AutoModel`` exactly as FunASR documents, never
with remote code. Besides the tagged text, the emotion *scores* are read from the CTC
logits of the model's emotion query frame (one of the four query frames the encoder
prepends to the audio), captured with a forward hook on the CTC projection.
"""

from __future__ import annotations

import contextlib
import io
import logging
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from avatar_mapping.emotion_fusion import EmotionEvidence
from avatar_mapping.vocabulary import EMOTIONS

from ..models.store import CHECKSUMS, verify_folder
from .speech_tags import EMOTION_TAGS, RichTranscript, parse_result

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)
RATE_HZ = 16000
QUERY_FRAMES = 4  # language, event, emotion, text-norm queries before the audio frames
REQUIRED_FILES = ("config.yaml", "model.pt")


class _SentencePiece(Protocol):
    def piece_to_id(self, piece: str) -> int: ...

    def unk_id(self) -> int: ...


class _Tokenizer(Protocol):
    """The part of FunASR's SentencePiece tokenizer read here."""

    @property
    def sp(self) -> _SentencePiece: ...


class SpeechModelUnavailable(RuntimeError):
    """SenseVoice cannot run here: the extra is not installed or the weights are missing."""


@dataclass(frozen=True)
class SenseVoiceOptions:
    model_dir: Path
    device: str = "auto"  # "auto": CUDA when torch sees a GPU, else CPU
    language: str = "auto"  # or zh, en, yue, ja, ko
    use_itn: bool = True  # punctuation and numerals in the transcript
    word_timestamps: bool = True


@dataclass(frozen=True, eq=False)
class SpeechRecognition:
    """One recognised stretch of audio. ``present=False``: nothing was said (no words)."""

    present: bool
    start_ms: int
    end_ms: int
    final: bool  # False for a sliding window during long speech
    transcript: RichTranscript
    emotion_scores: np.ndarray | None  # over EMOTIONS, from the emotion logits
    emotion_confidence: float  # probability that the emotion is one of the known classes

    @property
    def text(self) -> str:
        return self.transcript.text

    def without_emotion(self) -> SpeechRecognition:
        """The words and audio events only (where inferring emotions is not allowed)."""
        segments = tuple(replace(s, emotion=None) for s in self.transcript.segments)
        return replace(
            self, transcript=replace(self.transcript, segments=segments), emotion_scores=None, emotion_confidence=0.0
        )

    def emotion_evidence(self) -> EmotionEvidence | None:
        """Its speech emotion as fusion evidence; None without scores."""
        if self.emotion_scores is None:
            return None
        return EmotionEvidence("sensevoice", self.emotion_confidence, self.emotion_scores)


def check_model_dir(model_dir: Path) -> None:
    """The folder has the weights, and still matches the SHA256SUMS written when it was fetched."""
    missing = [f for f in REQUIRED_FILES if not (Path(model_dir) / f).is_file()]
    if missing:
        raise SpeechModelUnavailable(
            f"SenseVoice weights are not in {model_dir} (missing {', '.join(missing)}); "
            "run `avatar-driver models fetch sensevoice` where the model hub is reachable, "
            "or `avatar-driver models fetch sensevoice --from FOLDER` with a downloaded copy"
        )
    if (Path(model_dir) / CHECKSUMS).is_file():
        problem = verify_folder(Path(model_dir), REQUIRED_FILES)
        if problem is not None:
            raise SpeechModelUnavailable(f"SenseVoice folder {model_dir} is damaged: {problem}; fetch it again")


class SenseVoiceRecognizer:
    """Blocking; one call at a time (calls are serialised: the model is shared by sessions)."""

    def __init__(self, options: SenseVoiceOptions):
        check_model_dir(options.model_dir)
        try:
            import torch
            from funasr import AutoModel
        except ImportError as e:
            raise SpeechModelUnavailable(
                f"SenseVoice needs the sensevoice extra (`pip install -e '.[sensevoice]'`): {e}"
            ) from e
        self.options = options
        device = options.device
        if device == "auto":
            device = "cuda:0" if torch.cuda.is_available() else "cpu"
        self.device = device
        self._torch = torch
        with contextlib.redirect_stdout(io.StringIO()):  # FunASR prints its version to stdout
            self._auto = AutoModel(
                model=str(options.model_dir), device=device, disable_update=True, disable_pbar=True, log_level="ERROR"
            )
        self._model = self._auto.model
        self._model.eval()
        tokenizer = self._auto.kwargs["tokenizer"]
        self._emotion_ids = self._emotion_token_ids(tokenizer)
        self._logits: list[torch.Tensor] = []
        self._model.ctc.ctc_lo.register_forward_hook(lambda _m, _i, out: self._logits.append(out.detach()))
        self._lock = threading.Lock()
        self._timestamps_ok = options.word_timestamps

    @staticmethod
    def _emotion_token_ids(tokenizer: _Tokenizer) -> dict[str, int]:
        """Token id of each emotion tag; EMO_UNKNOWN under the key None's name 'unknown'."""
        sp = tokenizer.sp
        ids: dict[str, int] = {}
        for tag, cls in EMOTION_TAGS.items():
            i = sp.piece_to_id(f"<|{tag}|>")
            if i == sp.unk_id():
                raise SpeechModelUnavailable(f"the SenseVoice tokenizer has no <|{tag}|> token")
            ids[cls or "unknown"] = i
        return ids

    def recognize(self, samples: np.ndarray, start_ms: int = 0, final: bool = True) -> SpeechRecognition:
        """``samples``: float32 mono at 16 kHz."""
        samples = np.ascontiguousarray(samples, dtype=np.float32)
        end_ms = start_ms + int(1000 * len(samples) / RATE_HZ)
        with self._lock, self._torch.inference_mode():
            result = self._generate(samples)
            logits = self._logits[-1] if self._logits else None
            self._logits.clear()
        transcript = parse_result(result)
        scores, confidence = self._emotion_scores(logits)
        present = bool(transcript.text) and transcript.language != "nospeech"
        return SpeechRecognition(present, start_ms, end_ms, final, transcript, scores, confidence)

    def recognize_batch(self, stretches: list[np.ndarray]) -> list[SpeechRecognition]:
        """Several stretches of float32 16 kHz audio in one model call (a long recording's
        windows), in order; no word times. Each stretch's times start at 0."""
        arrays = [np.ascontiguousarray(x, dtype=np.float32) for x in stretches]
        if not arrays:
            return []
        with self._lock, self._torch.inference_mode():
            results = self._auto.generate(
                input=arrays,
                fs=RATE_HZ,
                language=self.options.language,
                use_itn=self.options.use_itn,
                batch_size=len(arrays),
            )
            logits = self._logits[-1] if self._logits else None
            self._logits.clear()
        out = []
        for i, (samples, result) in enumerate(zip(arrays, results, strict=True)):
            transcript = parse_result(result)
            scores, confidence = self._emotion_scores(logits[i : i + 1] if logits is not None else None)
            present = bool(transcript.text) and transcript.language != "nospeech"
            out.append(
                SpeechRecognition(present, 0, int(1000 * len(samples) / RATE_HZ), True, transcript, scores, confidence)
            )
        return out

    def _generate(self, samples: np.ndarray) -> dict[str, Any]:
        kwargs = dict(input=samples, fs=RATE_HZ, language=self.options.language, use_itn=self.options.use_itn)
        if self._timestamps_ok:
            try:
                result: dict[str, Any] = self._auto.generate(output_timestamp=True, **kwargs)[0]
                return result
            except (IndexError, RuntimeError):
                # FunASR re-tokenises the decoded text to align words; when that disagrees with
                # the decoded tokens its aligner indexes out of range. Keep the text, drop times.
                log.warning("SenseVoice word timestamps failed on a segment; this result has no word times")
                self._logits.clear()
        plain: dict[str, Any] = self._auto.generate(**kwargs)[0]
        return plain

    def _emotion_scores(self, logits: torch.Tensor | None) -> tuple[np.ndarray | None, float]:
        """Softmax over the emotion tokens at the query frame where emotion tokens are likeliest."""
        if logits is None or logits.shape[1] < QUERY_FRAMES:
            return None, 0.0
        ids = [self._emotion_ids[e] for e in EMOTIONS]
        frames = logits[0, :QUERY_FRAMES].float().log_softmax(-1).cpu().numpy()
        all_ids = ids + [self._emotion_ids["unknown"]]
        mass = np.logaddexp.reduce(frames[:, all_ids], axis=1)
        frame = frames[int(np.argmax(mass))]
        known = frame[ids]
        p = np.exp(known - known.max())
        scores = p / p.sum()
        confidence = float(np.exp(np.logaddexp.reduce(known) - np.logaddexp.reduce(frame[all_ids])))
        return scores, confidence
