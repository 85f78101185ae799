"""SenseVoice through FunASR, loaded by the production code from a tiny model built with
FunASR's own SenseVoiceSmall class (the real weights cannot be downloaded here)."""

from pathlib import Path

import numpy as np
import pytest

from avatar_mapping.vocabulary import EMOTIONS
from server.inference.sensevoice import SenseVoiceOptions, SenseVoiceRecognizer, SpeechModelUnavailable


def noise(seconds: float, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(int(16000 * seconds)) * 0.1).astype(np.float32)


def test_a_random_model_loads_and_gives_well_formed_results(tiny_sensevoice: Path) -> None:
    r = SenseVoiceRecognizer(SenseVoiceOptions(tiny_sensevoice, device="cpu"))
    assert r.device == "cpu"
    out = r.recognize(noise(1.5), start_ms=2000, final=False)
    assert (out.start_ms, out.end_ms, out.final) == (2000, 3500, False)
    assert out.emotion_scores is not None
    assert out.emotion_scores.shape == (len(EMOTIONS),) and out.emotion_scores.sum() == pytest.approx(1.0)
    assert 0.0 <= out.emotion_confidence <= 1.0
    assert isinstance(out.text, str)


def test_the_scripted_model_says_what_its_weights_say(scripted_sensevoice: Path) -> None:
    out = SenseVoiceRecognizer(SenseVoiceOptions(scripted_sensevoice)).recognize(noise(1.0, seed=3))
    assert out.present and out.text == "the"
    assert out.emotion_scores is not None
    # The emotion scores are read from the logits of the emotion query frame, not the tag.
    assert EMOTIONS[int(np.argmax(out.emotion_scores))] == "happy" and out.emotion_scores.max() > 0.99
    assert out.emotion_confidence > 0.99


def test_missing_weights_say_how_to_fetch_them(tmp_path: Path) -> None:
    with pytest.raises(SpeechModelUnavailable, match="models fetch sensevoice"):
        SenseVoiceRecognizer(SenseVoiceOptions(tmp_path))


def test_a_batch_gives_what_single_calls_give(tiny_sensevoice: Path) -> None:
    """Stretches of different lengths in one call (padded inside the model) read as each does
    alone: the same words, emotion scores within 1e-4, times from 0."""
    r = SenseVoiceRecognizer(SenseVoiceOptions(tiny_sensevoice, device="cpu", word_timestamps=False))
    stretches = [noise(1.0, seed=1), noise(2.5, seed=2), noise(0.6, seed=3)]
    batch = r.recognize_batch(stretches)
    singles = [r.recognize(x) for x in stretches]
    assert [b.end_ms for b in batch] == [1000, 2500, 600] and all(b.start_ms == 0 for b in batch)
    for b, s in zip(batch, singles, strict=True):
        assert b.text == s.text
        assert b.emotion_scores is not None and s.emotion_scores is not None
        np.testing.assert_allclose(b.emotion_scores, s.emotion_scores, atol=1e-4)
        assert b.emotion_confidence == pytest.approx(s.emotion_confidence, abs=1e-4)
    assert r.recognize_batch([]) == []
