"""Cuts the live audio into what the speech recogniser reads: VAD segments, and sliding
windows during long speech so that emotion and words arrive before the speaker stops.

Pure (no model): fed 16 kHz samples with the VAD's speaking decision per chunk.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RATE_HZ = 16000


@dataclass(frozen=True)
class SegmenterOptions:
    window_s: float = 1.0  # a partial result for every window_s of ongoing speech, on the last window_s
    hangover_s: float = 0.3  # this much silence ends a segment
    pre_roll_s: float = 0.2  # audio kept from before the VAD fired (word onsets)
    max_segment_s: float = 20.0  # a longer segment is cut (final) and a new one starts
    min_speech_s: float = 0.25  # segments with less speech than this are not sent


@dataclass(frozen=True, eq=False)
class SpeechWindow:
    samples: np.ndarray
    start_ms: int
    final: bool

    @property
    def end_ms(self) -> int:
        return self.start_ms + int(1000 * len(self.samples) / RATE_HZ)


class SpeechSegmenter:
    def __init__(self, options: SegmenterOptions = SegmenterOptions()):
        self.options = options
        self._pre = np.zeros(0, np.float32)
        self._segment: list[np.ndarray] = []
        self._segment_len = 0
        self._speech_len = 0
        self._start_ms = 0.0
        self._silence_s = 0.0
        self._since_window = 0

    def push(self, samples: np.ndarray, speaking: bool, end_ms: float) -> list[SpeechWindow]:
        o = self.options
        n = len(samples)
        out: list[SpeechWindow] = []
        if not self._segment:
            if speaking:
                self._segment = [self._pre, samples]
                self._segment_len = len(self._pre) + n
                self._speech_len = n
                self._start_ms = end_ms - 1000.0 * self._segment_len / RATE_HZ
                self._silence_s, self._since_window = 0.0, n
            else:
                self._pre = np.concatenate([self._pre, samples])[-int(o.pre_roll_s * RATE_HZ) :]
            return out
        self._segment.append(samples)
        self._segment_len += n
        self._speech_len += n if speaking else 0
        self._since_window += n
        self._silence_s = 0.0 if speaking else self._silence_s + n / RATE_HZ
        if self._silence_s >= o.hangover_s or self._segment_len >= o.max_segment_s * RATE_HZ:
            out += self._close()
        elif speaking and self._since_window >= o.window_s * RATE_HZ:
            self._since_window = 0
            audio = np.concatenate(self._segment)
            self._segment = [audio]
            w = audio[-int(o.window_s * RATE_HZ) :]
            out.append(SpeechWindow(w, int(round(end_ms - 1000.0 * len(w) / RATE_HZ)), final=False))
        return out

    def flush(self) -> list[SpeechWindow]:
        """End the current segment (the stream stopped)."""
        return self._close() if self._segment else []

    def _close(self) -> list[SpeechWindow]:
        audio = np.concatenate(self._segment)
        start = int(round(self._start_ms))
        self._segment, self._segment_len = [], 0
        self._pre = np.zeros(0, np.float32)
        if self._speech_len < self.options.min_speech_s * RATE_HZ:
            return []
        return [SpeechWindow(audio, start, final=True)]
