"""The server's speech recogniser: one SenseVoice model shared by every session, on its own
thread, or a logged degraded mode when it cannot run here.

Degraded mode (no FunASR, or no weights): sessions still get voice activity, real-time
visemes and prosody arousal; there is no transcript and no speech-emotion class.
``/healthz`` and the session's ``welcome`` say which mode is on and why.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..settings import Settings
from .sensevoice import SenseVoiceOptions, SenseVoiceRecognizer, SpeechModelUnavailable, SpeechRecognition
from .speech_segments import SpeechWindow

log = logging.getLogger(__name__)
# The model folder in the model cache, as the hub names it.
SENSEVOICE_DIR_NAME = "SenseVoiceSmall"


@dataclass(frozen=True)
class SpeechStatus:
    available: bool
    reason: str  # why not, or what runs

    def as_dict(self) -> dict[str, bool | str | None]:
        return {
            "available": self.available,
            "model": "SenseVoiceSmall" if self.available else None,
            "reason": self.reason,
        }


class SpeechService:
    def __init__(self, model_dir: Path, device: str = "auto", enabled: bool = True):
        self.options = SenseVoiceOptions(Path(model_dir), device=device)
        self._enabled = enabled
        self._recognizer: SenseVoiceRecognizer | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sensevoice")
        self.status = SpeechStatus(False, "not loaded yet")

    @classmethod
    def from_settings(cls, settings: Settings) -> SpeechService:
        return cls(
            settings.sensevoice_dir or settings.models / SENSEVOICE_DIR_NAME,
            settings.speech_device,
            settings.speech_recognition,
        )

    def load(self) -> SpeechStatus:
        """Blocking. Loads the model once; logs the degraded mode and its reason otherwise."""
        if not self._enabled:
            self.status = SpeechStatus(False, "disabled (AVATAR_DRIVER_SPEECH_RECOGNITION=false)")
        else:
            try:
                self._recognizer = SenseVoiceRecognizer(self.options)
                self.status = SpeechStatus(True, f"SenseVoice on {self._recognizer.device}")
            except SpeechModelUnavailable as e:
                self.status = SpeechStatus(False, str(e))
        if self.status.available:
            log.info("speech recognition: %s", self.status.reason)
        else:
            log.warning(
                "speech recognition degraded (no transcript, speech emotion from prosody only): %s", self.status.reason
            )
        return self.status

    @property
    def available(self) -> bool:
        return self._recognizer is not None

    async def recognize(self, window: SpeechWindow) -> SpeechRecognition:
        if self._recognizer is None:
            raise RuntimeError(f"speech recognition is not available: {self.status.reason}")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, self._recognizer.recognize, window.samples, window.start_ms, window.final
        )

    def recognize_blocking(self, samples: np.ndarray, start_ms: int = 0) -> SpeechRecognition | None:
        """For offline paths (animate, analyze): None in degraded mode."""
        if self._recognizer is None:
            return None
        return self._recognizer.recognize(samples, start_ms, True)

    def recognize_batch_blocking(self, stretches: list[np.ndarray]) -> list[SpeechRecognition] | None:
        """Several stretches in one model call (offline reports); None in degraded mode."""
        if self._recognizer is None:
            return None
        return self._recognizer.recognize_batch(stretches)

    def close(self) -> None:
        self._executor.shutdown(wait=False)
