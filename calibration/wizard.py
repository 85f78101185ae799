"""The calibration wizard: guided steps, per-step checks, robust statistics. Pure.

`CalibrationRun` is a state machine fed with (features, time); it says what to show as
typed `WizardEvent`s (prepare, recording, accepted, rejected, done, failed, cancelled) and
computes the table at the end with medians and percentiles, so a few bad frames do not move
the result.

Only `neutral` is needed (one click, 3 s: what VTube Studio and VSeeFace offer); the other
steps are optional, in groups (`STEP_GROUPS`), each tried at most twice. An expression step
is accepted only when its channels stay raised over most of the recording (its median), past
the resting face's own jitter, so a resting face is refused by every step.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from avatar_mapping.face_calibration import BLINKS, MIN_SPAN, TARGET_GAZE_RANGE_DEG, ChannelCurves
from avatar_mapping.features import FaceFeatures
from avatar_mapping.vocabulary import ARKIT_INDEX
from avatar_mapping.voice_features import N_MFCC

from .table import CalibrationTable
from .viseme_calibration import VoiceStep, check_voice_step, compute_viseme_calibration

# A step is rejected when fewer frames than this share have a face ...
MIN_FACE_SHARE = 0.8
# ... or when the head moves more than this (standard deviation of any angle).
MAX_HEAD_MOTION_DEG = 4.0
MIN_SAMPLES = 5
# An expression step's main channels must rise at least this far above rest over most of the
# recording (the median; a 90th percentile let a resting face's jitter pass as a cheek puff) ...
MIN_RISE = 0.1
# ... and this many times the resting face's own jitter on that channel (how far the neutral
# recording's 90th percentile lies above its median), when that is more.
REST_JITTER_FACTOR = 3.0
# A look step must move the eyes at least this far from the neutral gaze (median), and this
# many times the neutral gaze's own jitter.
MIN_GAZE_MOVE_DEG = 4.0
# Tries per step: a step that fails twice is skipped (neutral: the run fails).
MAX_ATTEMPTS = 2
# The neutral step must face the camera: a table recorded looking away tilts every later frame.
MAX_NEUTRAL_HEAD_DEG = 25.0


class WizardState(StrEnum):
    PREPARE = "prepare"  # countdown before a step records
    RECORDING = "recording"
    ACCEPTED = "accepted"  # the step's recording is usable
    REJECTED = "rejected"  # it is not (the event says why); the step is repeated or skipped
    DONE = "done"  # the table is computed
    FAILED = "failed"  # the neutral step failed every try: no table
    CANCELLED = "cancelled"


FINISHED = (WizardState.DONE, WizardState.FAILED, WizardState.CANCELLED)


@dataclass(frozen=True)
class WizardEvent:
    """What changed, for the user: the state, the step it concerns (None once done) and its
    position; while a step runs its instruction, duration and attempt; with prepare and
    recording the time left, with rejected and failed the reason."""

    state: WizardState
    step: str | None
    index: int
    count: int
    instruction: str | None = None
    duration_s: float | None = None
    attempt: int | None = None
    remaining_s: float | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Plausible:
    """A range the median of some channels must fall in for a step's recording to be what the
    step asked for. The limits are wide population ranges of MediaPipe's blendshapes on real
    faces (a resting face reads eyeBlink 0.02-0.35 with or without glasses, jawOpen below
    0.1, mouthSmile below 0.3), so only a recording of something else falls outside."""

    channels: tuple[str, ...]
    low: float
    high: float
    reason: str

    def violated(self, median: NDArray[np.float64]) -> bool:
        values = median[[ARKIT_INDEX[n] for n in self.channels]]
        return bool((values < self.low).any() or (values > self.high).any())


@dataclass(frozen=True)
class WizardStep:
    name: str
    instruction: str
    duration_s: float
    measures: tuple[str, ...] = ()  # channels whose maximum this step records
    primary: tuple[str, ...] = ()  # channels that must visibly move, or the step is repeated
    viseme: str | None = None  # a voice step: records the microphone, not the face
    plausible: tuple[Plausible, ...] = ()  # what the recording must look like
    gaze_axis: int | None = None  # a look step: 0 yaw, 1 pitch must move from the neutral gaze


_EYES = ("eyeBlinkLeft", "eyeBlinkRight")


STEPS: tuple[WizardStep, ...] = (
    WizardStep(
        "neutral",
        "Relax your face and look straight at the camera.",
        3.0,
        plausible=(
            Plausible(_EYES, 0.0, 0.5, "your eyes look closed: open them and look at the camera"),
            Plausible(("jawOpen",), 0.0, 0.2, "your mouth is open: close it and relax"),
            Plausible(
                ("mouthSmileLeft", "mouthSmileRight"), 0.0, 0.5, "you are smiling: relax your face, no expression"
            ),
        ),
    ),
    WizardStep(
        "smile",
        "Smile as widely as you can.",
        2.0,
        (
            "mouthSmileLeft",
            "mouthSmileRight",
            "cheekSquintLeft",
            "cheekSquintRight",
            "eyeSquintLeft",
            "eyeSquintRight",
            "mouthDimpleLeft",
            "mouthDimpleRight",
            "mouthUpperUpLeft",
            "mouthUpperUpRight",
        ),
        ("mouthSmileLeft", "mouthSmileRight"),
    ),
    WizardStep(
        "brows_up",
        "Raise your eyebrows as high as you can.",
        2.0,
        ("browInnerUp", "browOuterUpLeft", "browOuterUpRight", "eyeWideLeft", "eyeWideRight"),
        ("browInnerUp", "browOuterUpLeft", "browOuterUpRight"),
    ),
    WizardStep(
        "frown",
        "Frown: pull your eyebrows down and together.",
        2.0,
        ("browDownLeft", "browDownRight", "noseSneerLeft", "noseSneerRight"),
        ("browDownLeft", "browDownRight"),
    ),
    WizardStep(
        "nose_wrinkle",
        "Wrinkle your nose, as at a bad smell.",
        2.0,
        ("noseSneerLeft", "noseSneerRight", "mouthUpperUpLeft", "mouthUpperUpRight"),
        ("noseSneerLeft", "noseSneerRight"),
    ),
    WizardStep(
        "jaw_open",
        "Open your mouth wide.",
        2.0,
        ("jawOpen", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthStretchLeft", "mouthStretchRight"),
        ("jawOpen",),
    ),
    WizardStep("pucker", "Pucker your lips as for a kiss.", 2.0, ("mouthPucker", "mouthFunnel"), ("mouthPucker",)),
    WizardStep("cheek_puff", "Keep your lips closed and puff out your cheeks.", 2.0, ("cheekPuff",), ("cheekPuff",)),
    WizardStep(
        "eyes_closed",
        "Close both eyes gently and keep them closed.",
        2.0,
        _EYES,
        _EYES,
        plausible=(Plausible(_EYES, 0.35, 1.0, "your eyes were open: close them and keep them closed"),),
    ),
    WizardStep(
        "look_left",
        "Keep your head still and look to your left.",
        1.5,
        ("eyeLookOutLeft", "eyeLookInRight"),
        gaze_axis=0,
    ),
    WizardStep(
        "look_right",
        "Keep your head still and look to your right.",
        1.5,
        ("eyeLookInLeft", "eyeLookOutRight"),
        gaze_axis=0,
    ),
    WizardStep("look_up", "Keep your head still and look up.", 1.5, ("eyeLookUpLeft", "eyeLookUpRight"), gaze_axis=1),
    WizardStep(
        "look_down", "Keep your head still and look down.", 1.5, ("eyeLookDownLeft", "eyeLookDownRight"), gaze_axis=1
    ),
)
# Voice steps (sessions with a microphone): held sounds for the real-time visemes.
VOICE_STEPS: tuple[WizardStep, ...] = (
    WizardStep("say_aa", "Say a long, open 'aah', as in 'father'.", 2.0, viseme="aa"),
    WizardStep("say_ee", "Say a long 'eee', as in 'see'.", 2.0, viseme="I"),
    WizardStep("say_oo", "Say a long 'ooo', as in 'food'.", 2.0, viseme="U"),
    WizardStep("say_oh", "Say a long 'ohh', as in 'go'.", 2.0, viseme="O"),
    WizardStep("say_eh", "Say a long 'ehh', as in 'bed'.", 2.0, viseme="E"),
    WizardStep("say_ss", "Hiss a long 'sss'.", 2.0, viseme="SS"),
    WizardStep("say_ff", "Say a long 'fff', top teeth on the lower lip.", 2.0, viseme="FF"),
    WizardStep("hum_mm", "Hum a long 'mmm' with your lips closed.", 2.0, viseme="PP"),
)
ALL_STEPS = STEPS + VOICE_STEPS
STEP_NAMES = tuple(s.name for s in ALL_STEPS)
FACE_STEP_NAMES = tuple(s.name for s in STEPS)
VOICE_STEP_NAMES = tuple(s.name for s in VOICE_STEPS)
# The optional steps in groups a user may add after the neutral one (in STEPS order); a face
# group runs after a fresh neutral recording, the voice group alone.
STEP_GROUPS: dict[str, tuple[str, ...]] = {
    "expressions": ("smile", "brows_up", "frown", "nose_wrinkle"),
    "mouth": ("jaw_open", "pucker", "cheek_puff"),
    "eyes": ("eyes_closed", "look_left", "look_right", "look_up", "look_down"),
    "voice": VOICE_STEP_NAMES,
}


@dataclass(frozen=True)
class Rest:
    """The accepted neutral recording, as later steps compare against it."""

    blendshapes: NDArray[np.float64]  # per-channel median
    gaze_deg: NDArray[np.float64]  # median (yaw, pitch) of both eyes
    jitter: NDArray[np.float64]  # per channel: how far the 90th percentile lies above the median
    gaze_jitter_deg: NDArray[np.float64]  # (yaw, pitch): the 90th percentile of |gaze - median|

    @classmethod
    def of(cls, faces: list[FaceFeatures]) -> Rest:
        faces = [f for f in faces if f.present]
        shapes = np.array([f.blendshapes for f in faces])
        gaze = _gaze(faces)
        median, gaze_median = np.median(shapes, axis=0), np.median(gaze, axis=0)
        return cls(
            median,
            gaze_median,
            np.percentile(shapes, 90, axis=0) - median,
            np.percentile(np.abs(gaze - gaze_median), 90, axis=0),
        )


def _gaze(faces: list[FaceFeatures]) -> NDArray[np.float64]:
    """(n, 2): each face's gaze, yaw and pitch averaged over both eyes."""
    return np.array(
        [
            ((f.left_eye.yaw_deg + f.right_eye.yaw_deg) / 2, (f.left_eye.pitch_deg + f.right_eye.pitch_deg) / 2)
            for f in faces
        ]
    )


def check_step(step: WizardStep, samples: list[FaceFeatures], rest: Rest | None) -> str | None:
    """Why a recorded step cannot be used, or None when it can: no face, a moving head, a
    recording that is not what the step asked for (its plausible ranges; the neutral step
    facing away), an expression too small or not held, eyes that did not move. Every step
    but neutral is judged against the neutral recording (`rest`)."""
    if not samples:
        return "no frames arrived: is the camera on?"
    faces = [f for f in samples if f.present]
    if len(faces) < max(MIN_SAMPLES, MIN_FACE_SHARE * len(samples)):
        return "no face: keep your face in the picture"
    angles = np.array([(f.head.yaw_deg, f.head.pitch_deg, f.head.roll_deg) for f in faces])
    if angles.std(axis=0).max() > MAX_HEAD_MOTION_DEG:
        return "hold still: keep your head steady during the step"
    shapes = np.array([f.blendshapes for f in faces])
    median = np.median(shapes, axis=0)
    for bound in step.plausible:
        if bound.violated(median):
            return bound.reason
    if step.name == "neutral" and np.abs(np.median(angles[:, :2], axis=0)).max() > MAX_NEUTRAL_HEAD_DEG:
        return "face the camera: turn your head towards it"
    if step.name == "neutral" or not (step.primary or step.gaze_axis is not None):
        return None
    if rest is None:
        return "record the neutral face first"
    if step.primary:
        idx = [ARKIT_INDEX[n] for n in step.primary]
        rise = median[idx] - rest.blendshapes[idx]
        needed = np.maximum(MIN_RISE, REST_JITTER_FACTOR * rest.jitter[idx])
        if not (rise >= needed).any():
            return "the expression was too small or not held: make it more strongly and hold it"
    if step.gaze_axis is not None:
        axis = step.gaze_axis
        moved = np.median(np.abs(_gaze(faces)[:, axis] - rest.gaze_deg[axis]))
        if moved < max(MIN_GAZE_MOVE_DEG, REST_JITTER_FACTOR * rest.gaze_jitter_deg[axis]):
            return "your eyes did not move: look further that way, keeping your head still"
    return None


def compute_table(
    user_id: str,
    recordings: dict[str, list[FaceFeatures]],
    created_ms: int = 0,
    voice: list[VoiceStep] | None = None,
    base: CalibrationTable | None = None,
) -> CalibrationTable:
    """The table from accepted step recordings; `neutral` is required for the face part,
    the rest optional. Without face steps the face part is `base`'s (a voice-only run); with
    them, what `base` measured and this run did not (a neutral-only run after a full one) is
    kept where it still lies above the new neutral."""
    visemes = compute_viseme_calibration(voice) if voice else (base.visemes if base is not None else None)
    if "neutral" not in recordings and voice:
        base = base or CalibrationTable.identity(user_id)
        return replace(
            base,
            user_id=user_id,
            created_ms=created_ms,
            visemes=visemes,
            steps=tuple(dict.fromkeys(base.steps + tuple(s for s in STEP_NAMES if s in _voice_names(voice)))),
        )
    if "neutral" not in recordings:
        raise ValueError("calibration needs the neutral step")
    neutral_faces = [f for f in recordings["neutral"] if f.present]
    if len(neutral_faces) < MIN_SAMPLES:
        raise ValueError("the neutral step has too few frames with a face")
    nb = np.array([f.blendshapes for f in neutral_faces])
    neutral = np.median(nb, axis=0)
    rng = np.ones_like(neutral)
    for step in STEPS:
        faces = [f for f in recordings.get(step.name, []) if f.present]
        if not faces or not step.measures:
            continue
        idx = [ARKIT_INDEX[n] for n in step.measures]
        peak = np.percentile(np.array([f.blendshapes[idx] for f in faces]), 90, axis=0)
        for i, p in zip(idx, peak, strict=True):
            if p - neutral[i] >= MIN_SPAN:
                rng[i] = max(rng[i] if rng[i] < 1.0 else 0.0, p)
    kept = set(base.steps) - set(recordings) if base is not None else set()
    for step in STEPS:
        if step.name in kept and base is not None:
            for i in (ARKIT_INDEX[n] for n in step.measures):
                if rng[i] >= 1.0 and base.channels.range[i] - neutral[i] >= MIN_SPAN:
                    rng[i] = base.channels.range[i]
    neutral = np.minimum(neutral, rng - MIN_SPAN / 2)
    # Dead zone: the resting face's own noise, in units of the channel's span.
    noise = 2.0 * nb.std(axis=0) / np.maximum(rng - neutral, 1e-6)
    dead_zone = np.clip(noise, 0.0, 0.15)

    heads = np.array([(f.head.yaw_deg, f.head.pitch_deg, f.head.roll_deg) for f in neutral_faces])
    head_yaw, head_pitch, head_roll = (float(v) for v in np.median(heads, axis=0))
    gaze_offset = np.median(_gaze(neutral_faces), axis=0)
    blink_open = (float(neutral[BLINKS[0]]), float(neutral[BLINKS[1]]))
    blink_closed = [1.0, 1.0]
    closed = [f for f in recordings.get("eyes_closed", []) if f.present]
    if closed:
        levels = np.median(np.array([[f.blendshapes[i] for i in BLINKS] for f in closed]), axis=0)
        for eye in range(2):
            if levels[eye] - blink_open[eye] >= 2 * MIN_SPAN:
                blink_closed[eye] = float(levels[eye])
    elif base is not None and "eyes_closed" in kept:
        for eye in range(2):
            if base.blink_closed[eye] - blink_open[eye] >= 2 * MIN_SPAN:
                blink_closed[eye] = base.blink_closed[eye]

    def extent(step_names: tuple[str, str], axis: int) -> float:
        values = []
        for name in step_names:
            faces = [f for f in recordings.get(name, []) if f.present]
            if faces:
                values.append(np.percentile(np.abs(_gaze(faces)[:, axis] - gaze_offset[axis]), 90))
        if values:
            return float(np.clip(np.mean(values), 5.0, 60.0))
        if base is not None and kept & set(step_names):
            return base.gaze_range_deg[axis]
        return TARGET_GAZE_RANGE_DEG

    rest = [f.emotion_scores for f in neutral_faces if f.emotion_scores is not None]
    baseline = tuple(float(x) for x in np.clip(np.mean(rest, axis=0), 1e-6, 1.0)) if rest else None
    return CalibrationTable(
        user_id=user_id,
        channels=ChannelCurves(neutral=neutral, range=rng, dead_zone=dead_zone),
        head_neutral_deg=(head_yaw, head_pitch, head_roll),
        gaze_offset_deg=(float(gaze_offset[0]), float(gaze_offset[1])),
        gaze_range_deg=(extent(("look_left", "look_right"), 0), extent(("look_up", "look_down"), 1)),
        blink_open=blink_open,
        blink_closed=(blink_closed[0], blink_closed[1]),
        created_ms=created_ms,
        steps=tuple(s for s in STEP_NAMES if s in recordings or s in kept or s in _voice_names(voice or [])),
        visemes=visemes,
        emotion_baseline=baseline,
    )


def _voice_names(voice: list[VoiceStep]) -> set[str]:
    by_viseme = {s.viseme: s.name for s in VOICE_STEPS}
    return {by_viseme[v.viseme] for v in voice}


@dataclass
class CalibrationRun:
    """Drives the steps in order. Feed every new frame's features with the time in seconds."""

    user_id: str
    steps: tuple[WizardStep, ...] = STEPS
    prepare_s: float = 1.5
    max_attempts: int = MAX_ATTEMPTS
    index: int = 0
    state: WizardState = WizardState.PREPARE
    attempts: int = 0
    recordings: dict[str, list[FaceFeatures]] = field(default_factory=dict)
    table: CalibrationTable | None = None
    failure: str | None = None
    base: CalibrationTable | None = None  # the user's table so far: kept where this run records nothing
    voice: list[VoiceStep] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # optional steps that failed every attempt
    _state_since: float | None = None
    _samples: list[FaceFeatures] = field(default_factory=list)
    _audio: list[tuple[NDArray[np.float64], NDArray[np.float64]]] = field(default_factory=list)

    @property
    def step(self) -> WizardStep:
        return self.steps[self.index]

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    def start(self, now_s: float) -> list[WizardEvent]:
        self._state_since = now_s
        return [self._event(WizardState.PREPARE, remaining_s=self.prepare_s)]

    def cancel(self) -> list[WizardEvent]:
        return [self._event(WizardState.CANCELLED)]

    def feed(self, features: FaceFeatures, now_s: float) -> list[WizardEvent]:
        """A new face frame (face steps record it; it also moves the clock)."""
        return self._advance(now_s, features=features)

    def feed_audio(self, mfcc: NDArray[np.float64], log_energy: NDArray[np.float64], now_s: float) -> list[WizardEvent]:
        """New microphone frames (10 ms MFCCs and log energies; voice steps record them)."""
        return self._advance(now_s, audio=(mfcc, log_energy))

    def _advance(
        self,
        now_s: float,
        features: FaceFeatures | None = None,
        audio: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None,
    ) -> list[WizardEvent]:
        if self.finished:
            return []
        if self._state_since is None:
            return self.start(now_s)
        elapsed = now_s - self._state_since
        if self.state == WizardState.PREPARE:
            if elapsed < self.prepare_s:
                return []
            self._state_since, self._samples, self._audio = now_s, [], []
            return [self._event(WizardState.RECORDING, remaining_s=self.step.duration_s)]
        if features is not None:
            self._samples.append(features)
        if audio is not None:
            self._audio.append(audio)
        if elapsed < self.step.duration_s:
            return []
        step = self.step
        if step.viseme is not None:
            recorded = VoiceStep(
                step.viseme,
                np.concatenate([a[0] for a in self._audio]) if self._audio else np.zeros((0, N_MFCC)),
                np.concatenate([a[1] for a in self._audio]) if self._audio else np.zeros(0),
            )
            reason = check_voice_step(recorded)
        else:
            rest = Rest.of(self.recordings["neutral"]) if "neutral" in self.recordings else None
            reason = check_step(step, self._samples, rest)
        events: list[WizardEvent] = []
        if reason is None:
            if step.viseme is not None:
                self.voice.append(recorded)
            else:
                self.recordings[step.name] = self._samples
            events.append(self._event(WizardState.ACCEPTED))
            self.attempts = 0
            self.index += 1
        else:
            self.attempts += 1
            events.append(self._event(WizardState.REJECTED, reason=reason))
            if self.attempts >= self.max_attempts:
                if self.step.name == "neutral":
                    self.failure = reason
                    return events + [self._event(WizardState.FAILED, reason=reason)]
                self.attempts = 0
                self.skipped.append(step.name)
                self.index += 1  # an optional step: go on without it
        if self.index >= len(self.steps):
            self.table = compute_table(self.user_id, self.recordings, int(now_s * 1000), self.voice, self.base)
            self.state = WizardState.DONE
            return events + [WizardEvent(WizardState.DONE, None, len(self.steps), len(self.steps))]
        self._state_since = now_s
        return events + [self._event(WizardState.PREPARE, remaining_s=self.prepare_s)]

    def _event(self, state: WizardState, remaining_s: float | None = None, reason: str | None = None) -> WizardEvent:
        """An event about the current step; the run takes its state unless it is a verdict
        on a recording (accepted, rejected), which is not a state the run stays in."""
        step = self.steps[min(self.index, len(self.steps) - 1)]
        if state not in (WizardState.ACCEPTED, WizardState.REJECTED):
            self.state = state
        return WizardEvent(
            state,
            step.name,
            self.index,
            len(self.steps),
            step.instruction,
            step.duration_s,
            self.attempts + 1,
            remaining_s,
            reason,
        )
