"""Look-ahead visemes for live sessions: phone recognition streamed through pocketsphinx,
read `delay_ms` behind the newest audio, where the phones have settled.

The real-time classifier sees 25 ms of audio; the phone decoder sees the whole utterance
so far and revises its newest phones as more audio arrives. Reading the timeline a fixed
delay behind the audio trades that delay for phone-level visemes with coarticulated
crossfades. One utterance per stretch of speech (the VAD's decision); the decoder restarts
after `hangover_ms` of silence. About 50 ms of CPU per second of audio.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from avatar_mapping.vocabulary import VISEMES

from .timed_visemes import FRAME_CENTRE_MS, Phone, decoded_phones, phone_decoder, visemes_at

RATE_HZ = 16000
_SIL = np.eye(len(VISEMES))[VISEMES.index("sil")]


@dataclass(frozen=True)
class LookaheadOptions:
    delay_ms: float = 300.0
    hangover_ms: float = 400.0  # silence that ends an utterance
    keep_ms: float = 5000.0  # phones older than this behind the newest audio are dropped

    def __post_init__(self) -> None:
        if not 100.0 <= self.delay_ms <= 1000.0:
            raise ValueError(f"look-ahead delay_ms must be from 100 to 1000, got {self.delay_ms}")


class LookaheadVisemes:
    def __init__(self, options: LookaheadOptions = LookaheadOptions()):
        self.options = options
        self._decoder = phone_decoder()
        self._in_utterance = False
        self._utterance_start_ms = 0.0
        self._silence_ms = 0.0
        self._done: list[Phone] = []  # finished utterances
        self._current: list[Phone] = []  # the running utterance's (partial) phones
        self.end_ms = 0.0  # capture time of the newest audio

    def push(self, samples_16k: np.ndarray, end_ms: float, speaking: bool) -> None:
        duration_ms = 1000.0 * len(samples_16k) / RATE_HZ
        self.end_ms = end_ms
        if not self._in_utterance:
            if not speaking:
                return
            self._decoder.start_utt()
            self._in_utterance, self._silence_ms = True, 0.0
            self._utterance_start_ms = end_ms - duration_ms
        pcm = (np.clip(samples_16k, -1.0, 1.0) * 32767).astype("<i2").tobytes()
        self._decoder.process_raw(pcm, False, False)
        self._current = decoded_phones(self._decoder, self._utterance_start_ms + FRAME_CENTRE_MS)
        self._silence_ms = 0.0 if speaking else self._silence_ms + duration_ms
        if self._silence_ms >= self.options.hangover_ms:
            self._decoder.end_utt()
            self._done += decoded_phones(self._decoder, self._utterance_start_ms + FRAME_CENTRE_MS)
            self._current, self._in_utterance = [], False
        horizon = end_ms - self.options.keep_ms
        self._done = [p for p in self._done if p.end_ms >= horizon]

    @property
    def read_ms(self) -> float:
        """The capture time the look-ahead output describes now: delay_ms behind the audio."""
        return self.end_ms - self.options.delay_ms

    def at(self, t_ms: float) -> tuple[np.ndarray, float]:
        """Viseme weights at capture time t_ms and their confidence (the leading weight)."""
        phones = [p for p in self._done + self._current if p.start_ms - 50 <= t_ms <= p.end_ms + 50]
        if not phones:
            return _SIL, 1.0
        w = visemes_at(phones, np.array([t_ms]))[0]
        return w, float(w.max())
