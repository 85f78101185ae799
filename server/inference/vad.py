"""Voice activity with Silero VAD v6 on onnxruntime: a speech probability every 32 ms.

Streaming: 512 new samples at 16 kHz per step, with the previous 64 samples as context and
the recurrent state carried over, as the model was exported to be run. Blocking: the
server runs it in the session's audio thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .audio import MODEL_RATE_HZ
from .onnx_session import small_model_session

FRAME_SAMPLES = 512  # 32 ms
CONTEXT_SAMPLES = 64


@dataclass(frozen=True)
class VadOptions:
    model_path: Path
    threshold: float = 0.5


@dataclass(frozen=True)
class VadFrame:
    end_ms: float  # capture time of the end of this 32 ms frame (client clock)
    probability: float


class VoiceActivityDetector:
    def __init__(self, options: VadOptions):
        self.options = options
        self._session = small_model_session(options.model_path)
        self._sr = np.array(MODEL_RATE_HZ, dtype=np.int64)
        self.reset()

    def reset(self) -> None:
        self._state = np.zeros((2, 1, 128), dtype=np.float32)
        self._context = np.zeros(CONTEXT_SAMPLES, dtype=np.float32)
        self._pending = np.zeros(0, dtype=np.float32)

    def push_samples(self, samples: np.ndarray, chunk_end_ms: float) -> list[VadFrame]:
        """Feed clean 16 kHz float audio (see audio.PcmConditioner) whose last sample was
        captured at chunk_end_ms; returns a probability for every completed 32 ms frame."""
        buffered = np.concatenate([self._pending, samples])
        frames: list[VadFrame] = []
        n = len(buffered) // FRAME_SAMPLES
        for i in range(n):
            frame = buffered[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES]
            p = self._step(frame)
            end = chunk_end_ms - 1000.0 * (len(buffered) - (i + 1) * FRAME_SAMPLES) / MODEL_RATE_HZ
            frames.append(VadFrame(end, p))
        self._pending = buffered[n * FRAME_SAMPLES :]
        return frames

    def _step(self, frame: np.ndarray) -> float:
        x = np.concatenate([self._context, frame])[None, :]
        out, self._state = self._session.run(None, {"input": x, "state": self._state, "sr": self._sr})
        self._context = frame[-CONTEXT_SAMPLES:]
        return float(out[0, 0])


def speech_segments(
    frames: list[VadFrame], threshold: float = 0.5, min_silence_ms: float = 100.0, min_speech_ms: float = 64.0
) -> list[tuple[float, float]]:
    """(start_ms, end_ms) of speech: above threshold, gaps under min_silence_ms bridged."""
    segments: list[list[float]] = []
    frame_ms = 1000.0 * FRAME_SAMPLES / MODEL_RATE_HZ
    for f in frames:
        if f.probability < threshold:
            continue
        start = f.end_ms - frame_ms
        if segments and start - segments[-1][1] < min_silence_ms:
            segments[-1][1] = f.end_ms
        else:
            segments.append([start, f.end_ms])
    return [(s, e) for s, e in segments if e - s >= min_speech_ms]
