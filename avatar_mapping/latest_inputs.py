"""Time alignment: what the output clock maps at time t. Pure (explicit time, no clock read).

Face and voice measurements arrive at their own rates; the output clock ticks at its own.
`LatestInputs` keeps the newest of each with the time it arrived and answers
``sample(now_s)``: the face and voice that describe the user at ``now_s``, and how old the
face is (the mapper extrapolates the head by at most that much). Its rules:

* **Staleness**: a face older than ``stale_s`` no longer describes the user — it becomes
  absent (the avatar eases to rest); a voice older than that becomes silent (the
  microphone stopped sending).
* **Hold**: the last recognised speech emotion stays part of the voice for
  ``speech_emotion_hold_s``.
* **Look-ahead delay**: look-ahead lip-sync reads visemes ``delay_s`` behind the audio, so the
  face is delayed as much: the newest face received at least ``delay_s`` ago.

The same puts and sample times give the same samples, objects included: a stale face or a
held speech emotion is the same object on every tick until its inputs change, which keeps
the mapper's fused-state cache warm.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace

from .emotion_fusion import EmotionEvidence
from .features import FaceFeatures
from .voice_features import VoiceFeatures

# Look-ahead lip-sync delays the face by at most 1 s; at 60 fps that is 60 faces.
MAX_DELAYED_FACES = 256


@dataclass(frozen=True)
class TimingOptions:
    # Features older than this no longer describe the user.
    stale_s: float = 0.5
    # The last recognised speech emotion stays part of the voice this long.
    speech_emotion_hold_s: float = 4.0
    # Look-ahead lip-sync: the face is delayed by as much as the mouth (0: real time).
    delay_s: float = 0.0


@dataclass(frozen=True, eq=False)
class InputSample:
    face: FaceFeatures
    voice: VoiceFeatures
    age_s: float  # how old the face is (its receipt to now, less the look-ahead delay)


class LatestInputs:
    def __init__(self, options: TimingOptions = TimingOptions(), start_s: float = 0.0):
        self.options = options
        self._face = FaceFeatures.absent(0)
        self._face_s = start_s
        self._delayed: deque[tuple[float, FaceFeatures]] = deque(maxlen=MAX_DELAYED_FACES)
        self._voice = VoiceFeatures.silent(0)
        self._voice_s = 0.0
        self._speech_emotion: EmotionEvidence | None = None
        self._speech_emotion_s = 0.0
        # Derived objects kept while their sources stay the same (see the module docstring).
        self._absent: tuple[FaceFeatures | None, FaceFeatures | None] = (None, None)
        self._silent: tuple[VoiceFeatures | None, VoiceFeatures | None] = (None, None)
        self._with_emotion: tuple[VoiceFeatures | None, EmotionEvidence | None, VoiceFeatures | None] = (
            None,
            None,
            None,
        )

    @property
    def face_received_s(self) -> float:
        """When the newest face arrived."""
        return self._face_s

    def put_face(self, face: FaceFeatures, received_s: float) -> float:
        """A new face measurement; returns the time since the previous one (0 … 1 s), the
        dt of anything that follows the face itself (adaptive ranges)."""
        dt_s = min(max(received_s - self._face_s, 0.0), 1.0)
        self._face, self._face_s = face, received_s
        if self.options.delay_s:
            self._delayed.append((received_s, face))
        return dt_s

    def put_voice(self, voice: VoiceFeatures, received_s: float) -> None:
        self._voice, self._voice_s = voice, received_s

    def put_speech_emotion(self, evidence: EmotionEvidence, received_s: float) -> None:
        self._speech_emotion, self._speech_emotion_s = evidence, received_s

    def sample(self, now_s: float) -> InputSample:
        face, received_s = self._face_at(now_s)
        age_s = now_s - received_s - self.options.delay_s
        if face.present and age_s > self.options.stale_s:
            face = self._absent_for(face)
        return InputSample(face, self._voice_at(now_s), age_s)

    def _face_at(self, now_s: float) -> tuple[FaceFeatures, float]:
        if not self.options.delay_s:
            return self._face, self._face_s
        cutoff = now_s - self.options.delay_s
        delayed = self._delayed
        while len(delayed) > 1 and delayed[1][0] <= cutoff:
            delayed.popleft()
        if delayed and delayed[0][0] <= cutoff:
            return delayed[0][1], delayed[0][0]
        # Nothing old enough yet: no face, as fresh as now.
        return self._absent_for(None), now_s - self.options.delay_s

    def _absent_for(self, face: FaceFeatures | None) -> FaceFeatures:
        source, absent = self._absent
        if absent is None or source is not face:
            absent = FaceFeatures.absent(face.capture_ms if face is not None else 0)
            self._absent = (face, absent)
        return absent

    def _voice_at(self, now_s: float) -> VoiceFeatures:
        voice = self._voice
        if voice.present and now_s - self._voice_s > self.options.stale_s:
            source, silent = self._silent
            if silent is None or source is not voice:
                silent = VoiceFeatures.silent(voice.capture_ms)
                self._silent = (voice, silent)
            return silent
        evidence = self._speech_emotion
        held = evidence is not None and now_s - self._speech_emotion_s < self.options.speech_emotion_hold_s
        if not voice.present or not held or evidence is None:
            return voice
        base, base_evidence, combined = self._with_emotion
        if combined is None or base is not voice or base_evidence is not evidence:
            combined = replace(voice, speech_emotion=voice.speech_emotion + (evidence,))
            self._with_emotion = (voice, evidence, combined)
        return combined
