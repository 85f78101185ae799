"""EmotionReport: what an emotion_update tells — the tracked emotion and the newest
measurements — computed here, so the protocol only renders it. Pure.

The reported class and scores are the tracker's (smoothed, with hysteresis) when it has
them, else the fused state's own; valence, arousal and dominance follow the reported scores
and measured speech arousal (emotion_fusion.affect).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .emotion_fusion import EmotionEvidence, affect
from .features import FaceFeatures
from .fused import FusedState


@dataclass(frozen=True, eq=False)
class EmotionReport:
    face: FaceFeatures  # as measured (before calibration)
    emotion: str | None  # None while nothing gives class scores
    scores: NDArray[np.float64] | None  # over EMOTIONS
    source: str | None  # the fused sources, joined by "+"
    valence: float | None
    arousal: float | None
    dominance: float | None
    # Mean gaze direction in head space as tangents: x toward the subject's left, y downward.
    gaze_x: float
    gaze_y: float
    speaking_probability: float | None  # None without a voice
    speech_emotion: tuple[EmotionEvidence, ...]
    emotion_inference: bool = True  # False: not allowed here; nothing about emotion is reported

    @classmethod
    def of(
        cls,
        face: FaceFeatures,
        state: FusedState | None = None,
        top: str | None = None,
        scores: NDArray[np.float64] | None = None,
    ) -> EmotionReport:
        """The report of a mapped tick: the face measured, the state it was mapped from and
        the tracker's top class and scores (None: the state's own)."""
        fused = state.fused_emotion if state is not None else None
        known = fused if fused is not None and fused.scores.any() else None  # the fused emotion, if it has scores
        voice = state.voice if state is not None and state.voice.present else None
        inference = state is None or state.emotion_inference
        speech = voice.speech_emotion if voice is not None and inference else ()
        if state is not None and known is not None and scores is None:
            top, scores = state.top_emotion, known.scores
        reported = np.asarray(scores) if known is not None else None
        valence, arousal, dominance = affect(reported, speech, known.confidence if known is not None else 0.0)
        gaze_yaw = (face.left_eye.yaw_deg + face.right_eye.yaw_deg) / 2.0
        gaze_pitch = (face.left_eye.pitch_deg + face.right_eye.pitch_deg) / 2.0
        return cls(
            face,
            top if known is not None else None,
            reported,
            known.source if known is not None else None,
            valence,
            arousal,
            dominance,
            math.tan(math.radians(gaze_yaw)),
            math.tan(math.radians(gaze_pitch)),
            voice.speaking_probability if voice is not None else None,
            speech,
            inference,
        )
