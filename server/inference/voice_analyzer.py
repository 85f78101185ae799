"""The live audio path of a session: PCM chunks -> VoiceFeatures.

Resamples once (16 kHz), removes DC, then runs voice activity (32 ms) and the real-time
viseme classifier (10 ms hop) on the same samples. Blocking; the session's audio thread
runs it.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path

import numpy as np

from avatar_mapping.emotion_fusion import EmotionEvidence
from avatar_mapping.voice_features import VoiceFeatures

from .audio import MODEL_RATE_HZ, PcmConditioner
from .lookahead_visemes import LookaheadVisemes
from .prosody import ProsodyEstimate, estimate
from .realtime_visemes import RealtimeVisemes, VisemeFrame
from .speech_segments import SpeechSegmenter, SpeechWindow
from .vad import VadOptions, VoiceActivityDetector

# Speech emotion from prosody (no speech-emotion model here): the last 2 s of speech,
# re-estimated every 0.5 s of new speech.
PROSODY_WINDOW_S = 2.0
PROSODY_EVERY_S = 0.5


class VoiceAnalyzer:
    def __init__(
        self,
        vad_model: Path,
        segmenter: SpeechSegmenter | None = None,
        lookahead: LookaheadVisemes | None = None,
        prosody: bool = True,
    ):
        """``segmenter``: also cut speech windows for a recogniser (see take_windows).
        ``lookahead``: visemes from streamed phone recognition, delay_ms behind the audio
        (the features returned then describe that earlier moment). ``prosody``: estimate
        speech arousal (off where inferring emotions is not allowed)."""
        self.vad = VoiceActivityDetector(VadOptions(vad_model))
        self.segmenter = segmenter
        self.lookahead = lookahead
        self.prosody = prosody
        self._speaking_history: deque[tuple[float, float]] = deque(maxlen=64)  # (end_ms, probability)
        self._windows: list[SpeechWindow] = []
        self.visemes = RealtimeVisemes()
        self._condition = PcmConditioner()
        self._speaking = 0.0
        self._speech = np.zeros(0, np.float32)
        self._since_prosody = 0
        self._prosody = ProsodyEstimate(None, 0.0, {})
        self.last_frames: list[VisemeFrame] = []  # the real-time viseme frames of the last chunk

    def push(self, pcm: bytes, rate_hz: int, capture_ms: float) -> VoiceFeatures | None:
        """Analyse one chunk; the newest state, or None when no frame completed yet."""
        samples, restarted = self._condition(pcm, rate_hz)
        if restarted:  # a new stream: start clean
            if self.segmenter is not None:
                self._windows += self.segmenter.flush()
            self.vad.reset()
            self.visemes = RealtimeVisemes(self.visemes.p)
        end_ms = capture_ms + 1000.0 * len(samples) / MODEL_RATE_HZ
        vad_frames = self.vad.push_samples(samples, end_ms)
        if vad_frames:
            self._speaking = vad_frames[-1].probability
            self._speaking_history.extend((f.end_ms, f.probability) for f in vad_frames)
        speaking = self._speaking >= self.vad.options.threshold
        if self.lookahead is not None:
            self.lookahead.push(samples, end_ms, speaking)
        if self.segmenter is not None:
            self._windows += self.segmenter.push(samples, speaking, end_ms)
        if speaking and self.prosody:
            self._speech = np.concatenate([self._speech, samples])[-int(PROSODY_WINDOW_S * MODEL_RATE_HZ) :]
            self._since_prosody += len(samples)
            if self._since_prosody >= PROSODY_EVERY_S * MODEL_RATE_HZ and len(self._speech) >= MODEL_RATE_HZ:
                self._since_prosody = 0
                self._prosody = estimate(self._speech)
        vis_frames = self.visemes.push(samples, end_ms)
        self.last_frames = vis_frames
        if not vis_frames:
            return None
        p = self._prosody
        prosody = (EmotionEvidence(p.source, p.confidence, arousal=p.arousal),) if p.arousal is not None else ()
        if self.lookahead is not None:
            t = self.lookahead.read_ms
            weights, conf = self.lookahead.at(t)
            return VoiceFeatures(
                True,
                int(t),
                speaking_probability=self._speaking_at(t),
                visemes=weights,
                viseme_conf=conf,
                speech_emotion=prosody,
            )
        last = vis_frames[-1]
        # Below the speech threshold the mouth is told silence, whatever the spectrum says.
        weights = last.weights if speaking else _SILENCE
        return VoiceFeatures(
            True,
            int(last.end_ms),
            speaking_probability=self._speaking,
            visemes=weights,
            viseme_conf=last.confidence if weights is last.weights else 1.0,
            speech_emotion=prosody,
        )

    def _speaking_at(self, t_ms: float) -> float:
        earlier = [p for end, p in self._speaking_history if end <= t_ms]
        return earlier[-1] if earlier else 0.0

    def take_windows(self) -> list[SpeechWindow]:
        """Speech cut for the recogniser since the last call (empty without a segmenter)."""
        windows, self._windows = self._windows, []
        return windows


_SILENCE = np.eye(15)[0]
