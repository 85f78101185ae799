"""Recorded lines -> animation timelines (the NPC dialogue use case of POST /v1/animate)."""

from __future__ import annotations

import io
import wave
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from avatar_mapping.vocabulary import VISEMES
from avatar_mapping.voice_features import VoiceFeatures

from ..inference.audio import MODEL_RATE_HZ, to_model_rate
from ..inference.timed_visemes import timed_phones, viseme_track
from ..inference.vad import VadOptions, VoiceActivityDetector
from ..protocol.envelopes import transcript_payload

if TYPE_CHECKING:
    from pathlib import Path

    from ..inference.sensevoice import SpeechRecognition


class AnimateError(ValueError):
    pass


def read_wav(data: bytes, max_seconds: float | None = None) -> tuple[np.ndarray, int]:
    """Mono float32 samples and their rate from 16-bit PCM WAV bytes (stereo is averaged);
    a recording longer than ``max_seconds`` is refused before its samples are read."""
    try:
        with wave.open(io.BytesIO(data)) as w:
            if w.getsampwidth() != 2:
                raise AnimateError(f"WAV must be 16-bit PCM, got {8 * w.getsampwidth()}-bit")
            rate, channels = w.getframerate(), w.getnchannels()
            if rate not in (16000, 22050, 44100, 48000):
                raise AnimateError(f"sample rate must be 16000, 22050, 44100 or 48000 Hz, got {rate}")
            if max_seconds is not None and w.getnframes() > max_seconds * rate:
                raise AnimateError(f"the WAV file is {w.getnframes() / rate:.1f} s long; at most {max_seconds:g} s")
            raw = w.readframes(w.getnframes())
    except (wave.Error, EOFError) as e:
        raise AnimateError(f"not a readable WAV file: {e}") from None
    frame = 2 * channels
    pcm = np.frombuffer(raw[: len(raw) - len(raw) % frame], dtype="<i2")  # a cut-off last frame is dropped
    samples = pcm.reshape(-1, channels).mean(axis=1).astype(np.float32) / 32768.0
    if len(samples) == 0:
        raise AnimateError("the WAV file has no samples")
    return samples, rate


def recognize_line(
    wav: bytes, recognize: Callable[[np.ndarray], SpeechRecognition | None], max_seconds: float | None = None
) -> SpeechRecognition | None:
    """A whole line through the speech recogniser (SpeechService.recognize_blocking; None in
    degraded mode), for its words and emotion."""
    samples, rate = read_wav(wav, max_seconds)
    return recognize(to_model_rate(samples, rate))


class VoiceTimeline:
    """Voice features of a whole recorded line, looked up by time: timed visemes (alignment
    with the transcript, or phone recognition) and voice activity. Without a given
    transcript, SenseVoice's (when it runs, and the line is English: the aligner's
    acoustic model is English) is used for the alignment."""

    def __init__(
        self,
        wav: bytes,
        transcript: str | None,
        vad_model: Path,
        speech: SpeechRecognition | None = None,
        max_seconds: float | None = None,
        lead_ms: float = 0.0,
    ):
        """``speech``: the line as the recogniser heard it (`recognize_line`), when it runs;
        ``lead_ms``: the mouth this far ahead of the sound (timed_visemes.viseme_track)."""
        samples, rate = read_wav(wav, max_seconds)
        audio = to_model_rate(samples, rate)
        self.duration_ms = 1000.0 * len(audio) / MODEL_RATE_HZ
        self.speech = speech
        self.transcript_source = "given" if transcript else None
        if (
            not transcript
            and self.speech is not None
            and self.speech.present
            and self.speech.transcript.language in (None, "en")
        ):
            transcript, self.transcript_source = self.speech.text, "sensevoice"
        self.transcript = transcript
        evidence = self.speech.emotion_evidence() if self.speech is not None else None
        self._speech_emotion = (evidence,) if evidence is not None else ()
        self.phones, self.method = timed_phones(audio, transcript)
        self._track = viseme_track(self.phones, self.duration_ms, 100.0, lead_ms)  # 10 ms resolution
        frames = VoiceActivityDetector(VadOptions(vad_model)).push_samples(audio, self.duration_ms)
        self._vad_t = np.array([f.end_ms for f in frames])
        self._vad_p = np.array([f.probability for f in frames])

    def at(self, t_ms: float) -> VoiceFeatures:
        if t_ms > self.duration_ms:
            return VoiceFeatures.silent(int(t_ms))
        w = self._track[min(int(t_ms / 10.0), len(self._track) - 1)]
        k = min(int(np.searchsorted(self._vad_t, t_ms)), len(self._vad_p) - 1) if len(self._vad_p) else -1
        return VoiceFeatures(
            True,
            int(t_ms),
            speaking_probability=float(self._vad_p[k]) if k >= 0 else 0.0,
            visemes=w,
            viseme_conf=float(w.max()),
            speech_emotion=self._speech_emotion,
        )


def animate(
    wav: bytes,
    transcript: str | None,
    rate_hz: float,
    vad_model: Path,
    speech: SpeechRecognition | None = None,
    max_seconds: float | None = None,
    lead_ms: float = 0.0,
) -> dict[str, Any]:
    """A viseme timeline at rate_hz with speaking probability, from a WAV and its transcript.
    Blocking and CPU-bound (pocketsphinx): the server runs it in its tool pool."""
    if not 1.0 <= rate_hz <= 120.0:
        raise AnimateError("rate_hz must be from 1 to 120")
    if not 0.0 <= lead_ms <= 200.0:
        raise AnimateError("lead_ms must be from 0 to 200")
    timeline = VoiceTimeline(wav, transcript, vad_model, speech, max_seconds, lead_ms)
    frames = []
    for i in range(int(np.ceil(timeline.duration_ms * rate_hz / 1000.0))):
        t_ms = (i + 0.5) * 1000.0 / rate_hz
        v = timeline.at(t_ms)
        frames.append(
            {
                "t_ms": round(t_ms, 1),
                "viseme": v.viseme,
                "viseme_conf": round(v.viseme_conf, 4),
                "visemes": {name: round(float(x), 4) for name, x in zip(VISEMES, v.visemes, strict=True) if x > 0.0},
                "speaking_probability": round(v.speaking_probability, 4),
            }
        )
    return {
        "duration_ms": round(timeline.duration_ms, 1),
        "rate_hz": rate_hz,
        "lead_ms": lead_ms,
        "method": timeline.method,  # "alignment" (with the transcript) or "recognition"
        "transcript": timeline.transcript,
        "transcript_source": timeline.transcript_source,  # "given", "sensevoice" or null
        "speech": transcript_payload(timeline.speech) if timeline.speech is not None else None,
        "phones": [
            {"phone": p.name, "viseme": p.viseme, "start_ms": p.start_ms, "end_ms": p.end_ms} for p in timeline.phones
        ],
        "frames": frames,
    }
