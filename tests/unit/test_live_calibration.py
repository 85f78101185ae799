"""A session's calibration: the table it applies, adaptive ranges pushed once a second, the
wizard's events routed with their run, the user's viseme prototypes."""

from typing import Any

import numpy as np
import pytest

from avatar_mapping.features import FaceFeatures
from calibration.table import CalibrationTable
from calibration.viseme_calibration import VisemeCalibration
from calibration.wizard import FACE_STEP_NAMES, STEPS, VOICE_STEP_NAMES, CalibrationRun, WizardEvent, WizardState
from server.inference.realtime_visemes import VisemePrototypes
from server.live.calibration import DEFAULT_PROTOTYPES, SessionCalibration, requested_steps, viseme_prototypes
from server.protocol.codec import ProtocolError
from server.protocol.constants import ErrorCode
from server.protocol.messages import CalibrationStart, Hello
from tests.support.samples import example_table


class Calls:
    def __init__(self) -> None:
        self.tables: list[CalibrationTable] = []
        self.prototypes: list[VisemePrototypes] = []
        self.wizard: list[tuple[CalibrationRun, list[WizardEvent]]] = []

    def calibration(self, table: CalibrationTable, adaptive: bool = False) -> SessionCalibration:
        return SessionCalibration(
            table,
            adaptive,
            self.tables.append,
            self.prototypes.append,
            lambda run, events: self.wizard.append((run, events)),
        )


def test_adaptive_ranges_reach_the_mapping_at_most_once_a_second_and_freeze() -> None:
    calls = Calls()
    cal = calls.calibration(CalibrationTable.identity("u"), adaptive=True)
    rng = np.random.default_rng(0)
    for k in range(90):  # 3 s of faces at 30 fps
        cal.observe_face(FaceFeatures.from_blendshapes(0.2 + 0.3 * rng.random(52), k * 33), 1 / 30, k / 30)
    assert len(calls.tables) == 2 and calls.tables[-1].channels.neutral.max() > 0.0
    cal.set_adaptive(None, True)
    for k in range(60):
        cal.observe_face(FaceFeatures.from_blendshapes(rng.random(52), k * 33), 1 / 30, 3 + k / 30)
    assert len(calls.tables) == 2 and cal.adaptive is not None and cal.adaptive_frozen and cal.user_id is None
    cal.set_adaptive(False, None)
    assert calls.tables[-1] is cal.table and cal.effective is cal.table


def test_a_new_table_applies_with_its_voice_part() -> None:
    calls = Calls()
    cal = calls.calibration(CalibrationTable.identity("u"))
    voice = VisemeCalibration({"aa": tuple(np.full(13, 0.5))}, {"aa": 200}, -12.0, -2.0)
    table = CalibrationTable(user_id="u", visemes=voice, steps=("say_aa",))
    cal.set_table(table)
    assert calls.tables == [table] and cal.user_id == "u"
    assert calls.prototypes[-1] is not DEFAULT_PROTOTYPES
    assert np.allclose(calls.prototypes[-1].mean, viseme_prototypes(table).mean)
    cal.set_table(CalibrationTable.identity("u"))
    assert calls.prototypes[-1] is DEFAULT_PROTOTYPES


def test_the_wizard_hears_faces_and_says_what_happens_with_its_run() -> None:
    calls = Calls()
    cal = calls.calibration(CalibrationTable.identity("u"))
    cal.start_wizard(STEPS[:1], prepare_s=0.5, duration_scale=0.5, user_id="u", now_s=0.0)
    run = cal.run
    face = FaceFeatures.from_blendshapes(np.full(52, 0.1), 0)
    t = 0.0
    while cal.run is not None and t < 5:
        t += 1 / 30
        cal.observe_face(face, 1 / 30, t)
    states = [e.state for _, events in calls.wizard for e in events]
    assert all(r is run for r, _ in calls.wizard)
    assert states == [WizardState.PREPARE, WizardState.RECORDING, WizardState.ACCEPTED, WizardState.DONE]
    assert run is not None and run.table is not None and run.steps[0].duration_s == STEPS[0].duration_s * 0.5
    said = len(calls.wizard)
    cal.cancel_wizard()  # nothing runs: nothing said
    assert len(calls.wizard) == said


def steps_for(payload: dict[str, Any], camera: bool = True, microphone: bool = True) -> list[str]:
    """The step names a calibration_start asks for in a session with this consent."""
    hello = Hello(camera=camera, microphone=microphone, rig="default", format="named", rate_hz=30.0)
    request = CalibrationStart.parse(payload, FACE_STEP_NAMES, VOICE_STEP_NAMES)
    return [s.name for s in requested_steps(request, hello)]


def test_one_click_neutral_is_the_default_and_all_or_groups_add_the_rest() -> None:
    """Before: no `steps` ran all 13 face steps and 8 voice steps (~100 s with three tries)."""
    assert steps_for({}) == ["neutral"] == steps_for({"steps": "neutral"})
    assert steps_for({}, camera=False) == list(VOICE_STEP_NAMES)  # a microphone alone: its steps
    assert steps_for({"steps": "all"}) == list(FACE_STEP_NAMES + VOICE_STEP_NAMES)
    assert steps_for({"steps": "all"}, microphone=False) == list(FACE_STEP_NAMES)
    assert steps_for({"steps": ["neutral", "mouth"]}) == ["neutral", "jaw_open", "pucker", "cheek_puff"]
    assert steps_for({"steps": ["voice", "neutral", "smile", "expressions"]}) == [
        "neutral",
        "smile",
        "brows_up",
        "frown",
        "nose_wrinkle",
        *VOICE_STEP_NAMES,
    ]
    assert steps_for({"steps": ["say_aa"]}, camera=False) == ["say_aa"]


@pytest.mark.parametrize(
    "steps",
    ["everything", ["mouth"], ["neutral", "teeth"], ["neutral", ["smile"]], ["neutral"] * 100, [], 3],
)
def test_bad_step_requests_get_a_specific_error(steps: Any) -> None:
    """Unknown words and names, face steps without neutral first, lists too long or empty."""
    with pytest.raises(ProtocolError) as refused:
        steps_for({"steps": steps})
    assert refused.value.code == ErrorCode.BAD_CALIBRATION


def test_the_neutral_step_needs_the_camera() -> None:
    with pytest.raises(ProtocolError) as refused:
        steps_for({"steps": "neutral"}, camera=False)
    assert refused.value.code == ErrorCode.NO_CONSENT


def test_a_run_for_the_tables_user_keeps_its_measurements_and_another_users_does_not() -> None:
    calls = Calls()
    cal = calls.calibration(example_table())  # user "u", every range measured
    cal.start_wizard(STEPS[:1], prepare_s=0.5, duration_scale=1.0, user_id="u", now_s=0.0)
    assert cal.run is not None and cal.run.base is cal.table
    cal.cancel_wizard()
    cal.start_wizard(STEPS[:1], prepare_s=0.5, duration_scale=1.0, user_id="someone-else", now_s=1.0)
    assert cal.run.base is None  # a new run (the cancelled one is gone)
