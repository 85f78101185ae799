"""Silero VAD on real speech (espeak-ng) with known silences."""

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from server.inference.audio import PcmConditioner
from server.inference.vad import VadFrame, VadOptions, VoiceActivityDetector, speech_segments
from server.models.store import ModelStore
from server.settings import Settings
from tests.support.media import espeak

# Speech and silence boundaries must be found within this (the target).
BOUNDARY_TOLERANCE_MS = 100.0


@pytest.fixture(scope="module")
def vad_path() -> Path:
    return ModelStore(Settings().models).require("silero_vad")


def active(x: np.ndarray) -> tuple[int, int]:
    """First and last sample where the clean speech is audible."""
    idx = np.flatnonzero(np.abs(x) > 0.02)
    return int(idx[0]), int(idx[-1])


def mixed(tmp_path: Path) -> tuple[npt.NDArray[np.float32], list[tuple[float, float]]]:
    rng = np.random.default_rng(0)
    a = espeak("Hello there, this is the first sentence.")
    b = espeak("And here is another one, a little later.")
    parts: list[npt.NDArray[np.float32]]
    truth: list[tuple[float, float]]
    parts, truth, t = [], [], 0
    for gap_s, speech in ((1.0, a), (1.2, b), (0.8, None)):
        parts.append(np.zeros(int(gap_s * 16000), np.float32))
        t += int(gap_s * 16000)
        if speech is not None:
            s0, s1 = active(speech)
            truth.append(((t + s0) / 16, (t + s1) / 16))
            parts.append(speech)
            t += len(speech)
    x = np.concatenate(parts)
    x += rng.normal(0, 0.002, len(x)).astype(np.float32)  # a quiet room
    return x, truth


def run(vad_path: Path, x: npt.NDArray[np.float32], rate: int = 16000, chunk_ms: int = 100) -> list[VadFrame]:
    """Client PCM chunks through the production conditioning, then voice activity."""
    vad = VoiceActivityDetector(VadOptions(vad_path))
    condition = PcmConditioner()
    pcm = (np.clip(x, -1, 1) * 32767).astype("<i2")
    step = rate * chunk_ms // 1000
    frames: list[VadFrame] = []
    for i in range(0, len(pcm), step):
        samples, _ = condition(pcm[i : i + step].tobytes(), rate)
        frames += vad.push_samples(samples, 1000.0 * (i + len(pcm[i : i + step])) / rate)
    return frames


def test_speech_and_silence_are_found_within_100_ms(vad_path: Path, tmp_path: Path) -> None:
    x, truth = mixed(tmp_path)
    frames = run(vad_path, x)
    assert len(frames) == len(x) // 512  # one probability per 32 ms
    found = speech_segments(frames, min_silence_ms=300.0)
    assert len(found) == 2, found
    for (ts, te), (fs, fe) in zip(truth, found, strict=True):
        assert abs(fs - ts) <= BOUNDARY_TOLERANCE_MS, (fs, ts)
        assert abs(fe - te) <= BOUNDARY_TOLERANCE_MS + 32, (fe, te)  # + one frame of hangover


def test_other_sample_rates_are_resampled(vad_path: Path, tmp_path: Path) -> None:
    from scipy.signal import resample_poly

    x, truth = mixed(tmp_path)
    x48 = resample_poly(x, 3, 1).astype(np.float32)
    found = speech_segments(run(vad_path, x48, rate=48000), min_silence_ms=300.0)
    assert len(found) == 2 and abs(found[0][0] - truth[0][0]) <= BOUNDARY_TOLERANCE_MS


@pytest.mark.parametrize("signal", ["silence", "clipped", "dc", "noise"])
def test_garbage_does_not_crash_or_count_as_speech(vad_path: Path, signal: str) -> None:
    rng = np.random.default_rng(1)
    n = 16000 * 2
    x = {
        "silence": np.zeros(n),
        "clipped": np.sign(rng.normal(size=n)),
        "dc": np.full(n, 0.8),
        "noise": rng.normal(0, 0.05, n),
    }[signal].astype(np.float32)
    frames = run(vad_path, x)
    probs = np.array([f.probability for f in frames])
    assert np.isfinite(probs).all() and len(probs) == n // 512
    if signal in ("silence", "dc"):
        assert probs.max() < 0.5
