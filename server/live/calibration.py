"""A session's calibration: the user's stored table, adaptive ranges on top of it when asked
for, and the calibration wizard while it runs.

What the mapping applies (the stored table, or its adaptive version, pushed at most once a
second while adapting) goes to ``on_table``; the user's viseme prototypes (the table's voice
part, MAP-adapted) to ``on_prototypes``. The wizard is fed every face and every voice
analysis the session receives; what it says (typed WizardEvents) goes to ``on_wizard`` with
the run it concerns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from avatar_mapping.features import FaceFeatures
from calibration.adaptive import AdaptiveRanges
from calibration.table import CalibrationTable
from calibration.wizard import ALL_STEPS, STEPS, VOICE_STEPS, CalibrationRun, WizardEvent, WizardStep

from ..inference.realtime_visemes import VisemePrototypes, adapt_prototypes
from ..protocol.codec import ProtocolError
from ..protocol.constants import CalibrationPreset, ErrorCode
from ..protocol.messages import CalibrationStart, Hello

# Adaptive ranges are pushed into the mapping this often.
ADAPTIVE_PUSH_S = 1.0
DEFAULT_PROTOTYPES = VisemePrototypes.load()


def viseme_prototypes(table: CalibrationTable) -> VisemePrototypes:
    """The user's viseme prototypes: the defaults, MAP-adapted to the table's voice part."""
    return adapt_prototypes(DEFAULT_PROTOTYPES, table.visemes) if table.visemes else DEFAULT_PROTOTYPES


WizardListener = Callable[[CalibrationRun, list[WizardEvent]], None]


def requested_steps(request: CalibrationStart, hello: Hello) -> tuple[WizardStep, ...]:
    """The wizard's steps for a calibration_start: those it names; "all": the face steps with a
    camera and the voice steps with a microphone; "neutral": the neutral step. Neither (the
    default): "neutral" with a camera, the voice steps for a microphone alone. NO_CONSENT for
    a step the hello did not consent to."""
    preset = request.preset or (CalibrationPreset.NEUTRAL if hello.camera else CalibrationPreset.ALL)
    if request.steps is not None:
        steps = tuple(s for s in ALL_STEPS if s.name in request.steps)
    elif preset == CalibrationPreset.ALL:
        steps = (STEPS if hello.camera else ()) + (VOICE_STEPS if hello.microphone else ())
    else:
        steps = STEPS[:1]
    if not steps:
        raise ProtocolError(ErrorCode.NO_CONSENT, "calibration needs camera or microphone consent")
    if any(s.viseme is None for s in steps) and not hello.camera:
        raise ProtocolError(ErrorCode.NO_CONSENT, "the face steps of the calibration need camera consent")
    if any(s.viseme is not None for s in steps) and not hello.microphone:
        raise ProtocolError(ErrorCode.NO_CONSENT, "the voice steps of the calibration need microphone consent")
    return steps


class SessionCalibration:
    def __init__(
        self,
        table: CalibrationTable,
        adaptive: bool,
        on_table: Callable[[CalibrationTable], None],
        on_prototypes: Callable[[VisemePrototypes], None] | None = None,
        on_wizard: WizardListener | None = None,
    ):
        """``on_wizard`` may be set later (the session that owns this sets it)."""
        self.table = table
        self.adaptive = AdaptiveRanges(table.user_id) if adaptive else None
        self.run: CalibrationRun | None = None
        self._on_table = on_table
        self._on_prototypes = on_prototypes
        self.on_wizard = on_wizard
        self._since_push_s = 0.0

    @property
    def effective(self) -> CalibrationTable:
        """What the mapping applies now."""
        return self.adaptive.table(self.table) if self.adaptive is not None else self.table

    @property
    def adaptive_frozen(self) -> bool:
        return self.adaptive is not None and self.adaptive.frozen

    @property
    def user_id(self) -> str | None:
        """Whose stored table applies (None: no table)."""
        return None if self.table.is_identity else self.table.user_id

    def set_table(self, table: CalibrationTable) -> None:
        """A new table applies from the next frame, without reconnecting."""
        self.table = table
        self._on_table(self.effective)
        if self._on_prototypes is not None:
            self._on_prototypes(viseme_prototypes(table))

    def set_adaptive(self, enabled: bool | None, frozen: bool | None) -> None:
        if enabled is not None:
            self.adaptive = (self.adaptive or AdaptiveRanges(self.table.user_id)) if enabled else None
            if not enabled:
                self._on_table(self.table)
        if frozen is not None and self.adaptive is not None:
            self.adaptive.frozen = frozen

    def observe_face(self, features: FaceFeatures, dt_s: float, now_s: float) -> None:
        if self.adaptive is not None:
            self.adaptive.update(features, dt_s)
            self._since_push_s += dt_s
            if self._since_push_s >= ADAPTIVE_PUSH_S and not self.adaptive.frozen:
                self._since_push_s = 0.0
                self._on_table(self.effective)
        if self.run is not None:
            self._say(self.run, self.run.feed(features, now_s))

    def observe_voice(self, mfcc: np.ndarray, log_energy: np.ndarray, now_s: float) -> None:
        if self.run is not None and len(log_energy):
            self._say(self.run, self.run.feed_audio(mfcc, log_energy, now_s))

    def start_wizard(
        self, steps: tuple[WizardStep, ...], prepare_s: float, duration_scale: float, user_id: str, now_s: float
    ) -> None:
        """What the run does not record is kept from the user's current table (a neutral-only
        run keeps the ranges a full run measured)."""
        steps = tuple(replace(s, duration_s=s.duration_s * duration_scale) for s in steps)
        # Another user's table (a calibration_start naming someone else) is no base.
        base = None if self.table.is_identity or self.table.user_id != user_id else self.table
        self.run = CalibrationRun(user_id, steps=steps, prepare_s=prepare_s, base=base)
        self._say(self.run, self.run.start(now_s))

    def cancel_wizard(self) -> None:
        if self.run is not None:
            self._say(self.run, self.run.cancel())

    def _say(self, run: CalibrationRun, events: list[WizardEvent]) -> None:
        if run.finished:
            self.run = None
        if events and self.on_wizard is not None:
            self.on_wizard(run, events)
