from dataclasses import replace

import numpy as np
import pytest

from avatar_mapping.features import EyeGaze, FaceFeatures, HeadPose
from avatar_mapping.vocabulary import ARKIT_INDEX
from calibration.adaptive import AdaptiveRanges
from calibration.wizard import STEPS, CalibrationRun, Rest, WizardState, WizardStep, check_step, compute_table

RNG = np.random.default_rng(7)
REST = np.clip(RNG.uniform(0.0, 0.25, 52), 0, 1)  # this user's resting face: nothing is at 0
REST[ARKIT_INDEX["eyeBlinkLeft"]] = REST[ARKIT_INDEX["eyeBlinkRight"]] = 0.25  # e.g. glasses
REST[ARKIT_INDEX["jawOpen"]] = 0.1
LOOKS = {"look_left": (20.0, 0.0), "look_right": (-20.0, 0.0), "look_up": (0.0, 12.0), "look_down": (0.0, -12.0)}


def sample(
    step: str,
    t: int,
    noise: float = 0.01,
    head_jitter: float = 0.5,
    present: bool = True,
    gaze: tuple[float, float] = (0.0, 0.0),
    set_to: dict[str, float] | None = None,
) -> FaceFeatures:
    b = REST.copy()
    targets = {s.name: s.measures for s in STEPS}[step]
    for name in targets:
        b[ARKIT_INDEX[name]] = 0.75  # this user's own maximum
    for name, value in (set_to or {}).items():
        b[ARKIT_INDEX[name]] = value
    b = np.clip(b + RNG.normal(0, noise, 52), 0, 1)
    if not present:
        return FaceFeatures.absent(t)
    yaw, pitch = LOOKS.get(step, gaze)
    eye = EyeGaze(2.0 + yaw, 1.0 + pitch)
    return FaceFeatures.from_blendshapes(
        b, t, head=HeadPose(*(RNG.normal(0, head_jitter, 3) + (0, 8, 0))), left_eye=eye, right_eye=eye
    )


def recordings() -> dict[str, list[FaceFeatures]]:
    return {s.name: [sample(s.name, i) for i in range(40)] for s in STEPS}


def refused(step: WizardStep, samples: list[FaceFeatures], rest: Rest | None) -> str:
    """Why check_step refuses the recording (it must)."""
    reason = check_step(step, samples, rest)
    assert reason is not None
    return reason


def test_recorded_neutral_maps_to_zero_and_recorded_maximum_to_one() -> None:
    table = compute_table("ana", recordings())
    calibrated_rest = np.array([table.apply(sample("neutral", i)).blendshapes for i in range(30)])
    assert np.median(calibrated_rest, axis=0).max() < 0.05
    smile = np.median([table.apply(sample("smile", i)).blendshapes for i in range(30)], axis=0)
    for name in ("mouthSmileLeft", "mouthSmileRight", "cheekSquintLeft"):
        assert smile[ARKIT_INDEX[name]] > 0.9
    closed = np.median([table.apply(sample("eyes_closed", i)).blendshapes for i in range(30)], axis=0)
    assert closed[ARKIT_INDEX["eyeBlinkLeft"]] > 0.9 and closed[ARKIT_INDEX["eyeBlinkRight"]] > 0.9
    assert table.head_neutral_deg[1] == pytest.approx(8.0, abs=0.5)
    assert table.gaze_offset_deg[0] == pytest.approx(2.0, abs=0.1)
    assert table.gaze_range_deg[0] == pytest.approx(20.0, abs=1.0)


def test_steps_are_rejected_for_no_face_motion_or_no_expression() -> None:
    neutral = Rest.of(recordings()["neutral"])
    smile = STEPS[1]
    assert "no face" in refused(smile, [sample("smile", i, present=i % 3 == 0) for i in range(30)], neutral)
    assert "hold still" in refused(smile, [sample("smile", i, head_jitter=8.0) for i in range(30)], neutral)
    assert "too small" in refused(smile, [sample("neutral", i) for i in range(30)], neutral)
    assert check_step(smile, [sample("smile", i) for i in range(30)], neutral) is None
    assert "no frames" in refused(smile, [], neutral)
    look_up = next(s for s in STEPS if s.name == "look_up")
    assert "eyes did not move" in refused(look_up, [sample("neutral", i) for i in range(30)], neutral)
    assert check_step(look_up, [sample("look_up", i) for i in range(30)], neutral) is None


@pytest.mark.parametrize(
    "wrong, reason",
    [
        ({"eyeBlinkLeft": 0.7, "eyeBlinkRight": 0.6}, "eyes look closed"),  # the bad neutral: 56-77 % closed
        ({"jawOpen": 0.5}, "mouth is open"),
        ({"mouthSmileLeft": 0.9, "mouthSmileRight": 0.9}, "you are smiling"),
    ],
)
def test_a_neutral_face_that_is_not_at_rest_is_refused(wrong: dict[str, float], reason: str) -> None:
    neutral = STEPS[0]
    assert reason in refused(neutral, [sample("neutral", i, set_to=wrong) for i in range(30)], None)
    assert check_step(neutral, [sample("neutral", i) for i in range(30)], None) is None


def test_a_neutral_face_turned_away_and_open_eyes_for_eyes_closed_are_refused() -> None:
    turned = [replace(sample("neutral", i), head=HeadPose(35.0, 0.0, 0.0)) for i in range(30)]
    assert "face the camera" in refused(STEPS[0], turned, None)
    eyes_closed = next(s for s in STEPS if s.name == "eyes_closed")
    assert "eyes were open" in refused(eyes_closed, [sample("neutral", i) for i in range(30)], None)


def test_the_run_walks_every_step_and_repeats_a_bad_one() -> None:
    run = CalibrationRun("ana", prepare_s=0.5)
    events = run.start(0.0)
    t, fps = 0.0, 30
    bad_once = True
    while not run.finished and t < 120:
        t += 1 / fps
        step = run.step.name
        present = not (bad_once and step == "smile")
        new = run.feed(sample(step, int(t * 1000), present=present), t)
        events += new
        if any(e.state == "rejected" for e in new):
            bad_once = False
    states = [(e.state, e.step) for e in events]
    assert ("rejected", "smile") in states and ("accepted", "smile") in states
    assert [s for s, _ in states].count(WizardState.ACCEPTED) == len(STEPS)
    assert run.state == "done" and run.table is not None and set(run.table.steps) == {s.name for s in STEPS}
    rejected = next(e for e in events if e.state == "rejected")
    assert rejected.reason is not None and rejected.reason.startswith("no face") and rejected.instruction
    assert run.skipped == []


def test_a_step_that_keeps_failing_is_skipped_and_named() -> None:
    run = CalibrationRun("ana", steps=STEPS[:3], prepare_s=0.1, max_attempts=2)
    run.start(0.0)
    t = 0.0
    while not run.finished and t < 60:
        t += 1 / 30
        step = run.step.name
        run.feed(sample("neutral" if step == "smile" else step, int(t * 1000)), t)  # never smiles
    assert (
        run.state == "done"
        and run.skipped == ["smile"]
        and run.table is not None
        and run.table.steps == ("neutral", "brows_up")
    )


def test_a_run_fails_when_neutral_never_works() -> None:
    run = CalibrationRun("ana", prepare_s=0.1, max_attempts=2)
    run.start(0.0)
    t, events = 0.0, []
    while not run.finished and t < 30:
        t += 0.05
        events += run.feed(FaceFeatures.absent(int(t * 1000)), t)
    assert (
        run.state == "failed" and events[-1].state == "failed" and run.failure is not None and "no face" in run.failure
    )


def test_adaptive_ranges_follow_the_face_slowly_and_freeze() -> None:
    a = AdaptiveRanges("u", rate_per_s=0.5)
    for i in range(3000):
        a.update(sample("smile" if i % 4 == 0 else "neutral", i), 1 / 30)
    t = a.table()
    i = ARKIT_INDEX["mouthSmileLeft"]
    assert t.channels.neutral[i] < 0.3 and t.channels.range[i] > 0.6
    frozen = t.channels.range.copy()
    a.frozen = True
    for j in range(300):
        a.update(sample("neutral", j), 1 / 30)
    assert np.array_equal(a.table().channels.range, frozen)
