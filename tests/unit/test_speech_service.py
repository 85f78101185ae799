"""The shared recogniser: degraded mode with its reason, and recognition off the event loop."""

import asyncio
from pathlib import Path

import numpy as np
import pytest

from server.inference.speech_segments import SpeechWindow
from server.inference.speech_service import SpeechService


def test_degraded_mode_reports_why(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    s = SpeechService(tmp_path / "SenseVoiceSmall")
    status = s.load()
    assert not status.available and not s.available and "models fetch sensevoice" in status.reason
    assert "speech recognition degraded" in caplog.text
    assert SpeechService(tmp_path, enabled=False).load().reason.startswith("disabled")
    assert s.recognize_blocking(np.zeros(16000, np.float32)) is None


def test_recognises_a_window_on_its_own_thread(scripted_sensevoice: Path) -> None:
    s = SpeechService(scripted_sensevoice, device="cpu")
    assert s.load().available and s.status.as_dict()["model"] == "SenseVoiceSmall"
    window = SpeechWindow((np.random.default_rng(0).standard_normal(16000) * 0.1).astype(np.float32), 700, True)
    out = asyncio.run(s.recognize(window))
    assert out.text == "the" and (out.start_ms, out.end_ms, out.final) == (700, 1700, True)
    s.close()
