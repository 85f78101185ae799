import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from avatar_mapping.features import FaceFeatures
from avatar_mapping.fused import FusedState, fuse
from avatar_mapping.strategies import (
    ARKIT,
    AU,
    PRESET,
    STRATEGIES,
    VIS,
    VISEME_ARKIT,
    Hybrid,
    StrategyContext,
    StrategyOutput,
    make_strategy,
    spoken_mouth,
    spoken_visemes,
)
from avatar_mapping.vocabulary import (
    ARKIT_BLENDSHAPES,
    ARKIT_INDEX,
    AU_INDEX,
    CANONICAL_CHANNELS,
    EMOTIONS,
    EXPRESSION_PRESETS,
    VISEME_INDEX,
    VISEMES,
)
from avatar_mapping.voice_features import VoiceFeatures
from tests.support.paths import REPO

AU_TABLE = json.loads((REPO / "rigs" / "strategies" / "au_linear.json").read_text())
CTX = StrategyContext()


def face(**named: float) -> FaceFeatures:
    b = np.zeros(52)
    for k, v in named.items():
        b[ARKIT_INDEX[k]] = v
    return FaceFeatures.from_blendshapes(b, 0)


def emotion(name: str) -> npt.NDArray[np.float64]:
    e = np.zeros(len(EMOTIONS))
    e[EMOTIONS.index(name)] = 1.0
    return e


def test_registry() -> None:
    assert set(STRATEGIES) == {"direct", "au_linear", "emotion_preset", "hybrid"}
    with pytest.raises(ValueError, match="unknown strategy"):
        make_strategy("magic", CTX)
    with pytest.raises(ValueError, match="needs its table"):
        make_strategy("au_linear", CTX)


@pytest.mark.parametrize(
    "name, params, message",
    [
        ("emotion_preset", {"intensity": "abc"}, "emotion_preset.intensity must be a number from 0 to 3"),
        ("emotion_preset", {"intensity": float("nan")}, "intensity must be a number"),
        ("hybrid", {"accent": True}, "hybrid.accent must be a number"),
        ("hybrid", {"speaking_ramp": 0.0}, "speaking_ramp must be a number from 0.01"),
        ("hybrid", {"acent": 0.5}, "hybrid has no parameter 'acent'; it takes .'accent', "),
        ("direct", {"accent": 0.5}, "direct has no parameter 'accent'; it takes none"),
        ("au_linear", {**AU_TABLE, "rows": [{"au": "AU99", "to": ["jawOpen"]}]}, "rows\\[0\\] needs 'au'"),
        ("au_linear", {**AU_TABLE, "rows": [{"au": "AU12", "to": ["smile"]}]}, "rows\\[0\\].to must list"),
        ("au_linear", {**AU_TABLE, "rows": [{"au": "AU12", "to": ["jawOpen"], "gain": "x"}]}, "rows\\[0\\].gain"),
        ("au_linear", {**AU_TABLE, "rows": [{"au": "AU12", "to": ["jawOpen"], "curve": "cubic"}]}, "curve must be"),
        ("au_linear", {**AU_TABLE, "passthrough": ["eyes"]}, "passthrough must list"),
    ],
)
def test_parameters_are_checked_when_a_strategy_is_made_and_named_when_wrong(
    name: str, params: dict[str, Any], message: str
) -> None:
    """Checked once, up front: a bad value used to pass, then fail inside the first tick."""
    with pytest.raises(ValueError, match=message):
        make_strategy(name, CTX, params)


def test_parameters_take_their_defaults_and_accept_their_range() -> None:
    assert make_strategy("hybrid", CTX).value == {"accent": 0.3, "speaking_threshold": 0.7, "speaking_ramp": 0.15}
    assert make_strategy("emotion_preset", CTX, {"intensity": 3}).value == {"intensity": 3.0}


def test_direct_passes_calibrated_arkit_through() -> None:
    f = face(mouthSmileLeft=0.6, jawOpen=0.3)
    out = make_strategy("direct", CTX).step(fuse(f), 1 / 60).channels
    assert np.array_equal(out[ARKIT], f.blendshapes) and np.array_equal(out[AU], f.action_units)
    assert len(out) == len(CANONICAL_CHANNELS) and not out[PRESET].any()


def test_au_linear_follows_the_design_table() -> None:
    s = make_strategy("au_linear", CTX, AU_TABLE)
    f = face(mouthSmileLeft=0.5, mouthSmileRight=0.5, browDownLeft=0.1, browDownRight=0.1, eyeBlinkLeft=0.9)
    out = s.step(fuse(f), 1 / 60).channels[ARKIT]
    assert out[ARKIT_INDEX["mouthSmileLeft"]] == pytest.approx(0.55)  # clamp(AU12 * 1.1)
    assert out[ARKIT_INDEX["browDownLeft"]] < 0.1  # sigmoid: a slow onset below its centre
    assert out[ARKIT_INDEX["eyeBlinkLeft"]] == 0.9 and out[ARKIT_INDEX["eyeBlinkRight"]] == 0.0  # per-eye passthrough
    # AU06 is "linear with damping": a step reaches ~63 % after one time constant (0.15 s).
    s2 = make_strategy("au_linear", CTX, AU_TABLE)
    s2.step(fuse(face()), 1 / 60)
    cheek = face(cheekSquintLeft=0.8, cheekSquintRight=0.8)
    state = fuse(cheek)
    values = [s2.step(state, 0.01).channels[ARKIT_INDEX["cheekSquintLeft"]] for _ in range(15)]
    assert values[-1] == pytest.approx(0.8 * (1 - np.exp(-1)), abs=0.02)


def test_emotion_preset_from_probabilities() -> None:
    s = make_strategy("emotion_preset", CTX)
    happy = s.step(FusedState(face(eyeBlinkLeft=1.0), emotion_scores=emotion("happy")), 1 / 60)
    assert happy.channels[PRESET][EXPRESSION_PRESETS.index("happy")] == 1.0
    assert happy.channels[ARKIT_INDEX["mouthSmileLeft"]] == pytest.approx(0.8)
    assert happy.channels[ARKIT_INDEX["cheekSquintLeft"]] == pytest.approx(0.4)
    assert happy.particles["glow_intensity"] == pytest.approx(0.2)
    assert happy.channels[ARKIT_INDEX["eyeBlinkLeft"]] == 1.0  # still blinks with the user
    sad = s.step(FusedState(face(), emotion_scores=emotion("sad")), 1 / 60)
    assert sad.head_pitch_offset_deg == pytest.approx(3.0) and sad.slouch == pytest.approx(0.3)
    surprise = s.step(FusedState(face(), emotion_scores=emotion("surprise")), 1 / 60)
    assert surprise.channels[PRESET][EXPRESSION_PRESETS.index("surprised")] == 1.0


def speaking(p: float, conf: float = 1.0, viseme: str = "aa") -> VoiceFeatures:
    v = np.zeros(len(VISEMES))
    v[VISEME_INDEX[viseme]] = 1.0
    return VoiceFeatures(True, 0, speaking_probability=p, visemes=v, viseme_conf=conf)


def test_hybrid_gives_the_mouth_to_visemes_while_speaking_without_a_pop() -> None:
    s = make_strategy("hybrid", CTX, {"accent": 0.0})  # speech priority alone
    f = face(jawOpen=0.05, mouthPucker=0.7, browInnerUp=0.6)
    quiet = s.step(fuse(f, speaking(0.2)), 1 / 60).channels
    assert quiet[ARKIT_INDEX["mouthPucker"]] == pytest.approx(0.7) and not quiet[VIS].any()
    loud = s.step(fuse(f, speaking(0.95)), 1 / 60).channels
    assert loud[ARKIT_INDEX["jawOpen"]] == pytest.approx(VISEME_ARKIT["aa"]["jawOpen"])  # aa on an ARKit face
    assert loud[ARKIT_INDEX["mouthPucker"]] == pytest.approx(0.0)
    assert loud[ARKIT_INDEX["browInnerUp"]] == pytest.approx(0.6)  # brows stay with the face
    assert loud[VIS][VISEME_INDEX["aa"]] == 1.0
    # Crossing the threshold is a ramp, not a switch.
    jaws = [s.step(fuse(f, speaking(p)), 1 / 60).channels[ARKIT_INDEX["jawOpen"]] for p in np.linspace(0.6, 0.95, 36)]
    assert max(np.abs(np.diff(jaws))) < 0.1  # a switch would jump by the whole 0.7
    unsure = s.step(fuse(f, speaking(0.95, conf=0.5)), 1 / 60).channels
    assert 0.05 < unsure[ARKIT_INDEX["jawOpen"]] < VISEME_ARKIT["aa"]["jawOpen"]  # blended by confidence


def test_hybrid_leaves_the_mouth_shape_to_viseme_targets_when_the_rig_has_them() -> None:
    s = make_strategy("hybrid", StrategyContext(rig_has_visemes=True))
    out = s.step(fuse(face(jawOpen=0.4), speaking(0.95)), 1 / 60).channels
    assert out[ARKIT_INDEX["jawOpen"]] == pytest.approx(0.0) and out[VIS][VISEME_INDEX["aa"]] == 1.0


def test_hybrid_keeps_the_smile_frown_and_brows_while_the_visemes_open_and_round_the_mouth() -> None:
    """Issue 25: the visemes replaced the whole mouth, a 0.93 smile fell to 0.11 on every syllable."""
    s = make_strategy("hybrid", CTX, {"accent": 0.0})
    smiling = face(mouthSmileLeft=0.93, mouthSmileRight=0.9, jawOpen=0.05, browDownLeft=0.4)
    out = s.step(fuse(smiling, speaking(0.95)), 1 / 60).channels
    assert out[ARKIT_INDEX["mouthSmileLeft"]] == pytest.approx(0.93)
    assert out[ARKIT_INDEX["mouthSmileRight"]] == pytest.approx(0.9)
    assert out[ARKIT_INDEX["jawOpen"]] == pytest.approx(VISEME_ARKIT["aa"]["jawOpen"])  # the voice opens it
    assert out[ARKIT_INDEX["browDownLeft"]] == pytest.approx(0.4)
    frowning = s.step(fuse(face(mouthFrownLeft=0.6, mouthPucker=0.2), speaking(0.95, viseme="O")), 1 / 60).channels
    assert frowning[ARKIT_INDEX["mouthFrownLeft"]] == pytest.approx(0.6)
    assert frowning[ARKIT_INDEX["mouthFunnel"]] == pytest.approx(VISEME_ARKIT["O"]["mouthFunnel"])  # rounded
    assert frowning[ARKIT_INDEX["mouthPucker"]] == pytest.approx(0.0)  # rounding is the voice's
    # A viseme's own bit of expression (E's slight smile) shows on a face that does not smile.
    e = s.step(fuse(face(), speaking(0.95, viseme="E")), 1 / 60).channels
    assert e[ARKIT_INDEX["mouthSmileLeft"]] == pytest.approx(VISEME_ARKIT["E"]["mouthSmileLeft"])
    # On a rig with viseme targets the ARKit articulation rests and the smile stays.
    v = make_strategy("hybrid", StrategyContext(rig_has_visemes=True), {"accent": 0.0})
    on_visemes = v.step(fuse(smiling, speaking(0.95)), 1 / 60).channels
    assert on_visemes[ARKIT_INDEX["jawOpen"]] == 0.0 and on_visemes[VIS][VISEME_INDEX["aa"]] == 1.0
    assert on_visemes[ARKIT_INDEX["mouthSmileLeft"]] == pytest.approx(0.93)


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_every_strategy_lets_the_voice_move_the_mouth_when_no_face_is_seen(name: str) -> None:
    """With the microphone alone, direct and au_linear used to leave every channel at 0."""
    params = AU_TABLE if name == "au_linear" else None
    no_face = FaceFeatures.absent(0)
    arkit_rig = make_strategy(name, CTX, params)
    aa = arkit_rig.step(fuse(no_face, speaking(0.9)), 1 / 60).channels
    assert aa[ARKIT_INDEX["jawOpen"]] >= 0.5 and aa[VIS][VISEME_INDEX["aa"]] == 1.0
    u = arkit_rig.step(fuse(no_face, speaking(0.9, viseme="U")), 1 / 60).channels
    assert u[ARKIT_INDEX["mouthPucker"]] >= 0.7  # each viseme has its own lips, not only a jaw
    silent = arkit_rig.step(fuse(no_face, speaking(0.1, viseme="sil")), 1 / 60).channels
    assert silent[ARKIT_INDEX["jawOpen"]] == 0.0
    viseme_rig = make_strategy(name, StrategyContext(rig_has_visemes=True), params)
    v = viseme_rig.step(fuse(no_face, speaking(0.9)), 1 / 60).channels
    assert v[VIS][VISEME_INDEX["aa"]] == 1.0 and v[ARKIT_INDEX["jawOpen"]] == 0.0  # the rig's own viseme shapes


def test_the_mouth_shows_the_two_likeliest_visemes_at_full_strength() -> None:
    """The classifier spreads probability over similar sounds (its top viseme ~0.4)."""
    spread = np.zeros(len(VISEMES))
    spread[[VISEME_INDEX["aa"], VISEME_INDEX["O"], VISEME_INDEX["E"], VISEME_INDEX["sil"]]] = [0.4, 0.3, 0.2, 0.1]
    shown = spoken_visemes(spread)
    assert shown[VISEME_INDEX["aa"]] == pytest.approx(4 / 7) and shown[VISEME_INDEX["O"]] == pytest.approx(3 / 7)
    assert shown.sum() == pytest.approx(1.0) and shown[VISEME_INDEX["E"]] == 0.0
    assert spoken_mouth(spread)[ARKIT_INDEX["jawOpen"]] > 0.6  # 0.4 * 0.75 + ... blended as they came: 0.4
    assert not spoken_mouth(np.eye(len(VISEMES))[VISEME_INDEX["sil"]]).any()


def test_emotion_accent_is_added_on_top_of_the_face() -> None:
    s = make_strategy("hybrid", CTX, {"accent": 0.5})
    out = s.step(FusedState(face(mouthSmileLeft=0.2), emotion_scores=emotion("happy")), 1 / 60).channels
    assert out[ARKIT_INDEX["mouthSmileLeft"]] == pytest.approx(0.2 + 0.5 * 0.8)


def test_prototypes_read_a_smile_as_happy() -> None:
    f = FaceFeatures.from_blendshapes(
        np.array(
            [
                0.9
                if n
                in (
                    ARKIT_INDEX["mouthSmileLeft"],
                    ARKIT_INDEX["mouthSmileRight"],
                    ARKIT_INDEX["eyeSquintLeft"],
                    ARKIT_INDEX["eyeSquintRight"],
                )
                else 0.0
                for n in range(52)
            ]
        ),
        0,
    )
    assert fuse(f).top_emotion == "happy"
    assert fuse(face()).top_emotion == "neutral"
    assert fuse(FaceFeatures.absent(0)).top_emotion is None
    assert AU_INDEX["AU12"] >= 0


@pytest.fixture(scope="module")
def recorded(model_path: Path, astronaut: npt.NDArray[np.uint8]) -> list[FaceFeatures]:
    """A feature sequence recorded by the real model from a tilting, smiling face."""
    from server.inference.face import FaceTracker, FaceTrackerOptions
    from server.inference.input_frame import Frame
    from tests.support.media import rotated_video

    angles = np.concatenate([np.linspace(0, 15, 10), np.linspace(15, -15, 20)])
    with FaceTracker(FaceTrackerOptions(model_path, mode="video")) as t:
        return [t.process(Frame(f, i * 33)) for i, f in enumerate(rotated_video(astronaut, angles, [(0, 0)] * 30))]


def test_each_strategy_on_a_recorded_sequence(recorded: list[FaceFeatures]) -> None:
    from avatar_mapping.mapper import AvatarMapper
    from tests.support.rigs import load_rig

    rig = load_rig("arkit52")
    assert all(f.present for f in recorded)
    outputs: dict[str, list[StrategyOutput]] = {}
    for name in STRATEGIES:
        s = make_strategy(name, CTX, AU_TABLE if name == "au_linear" else None)
        outputs[name] = [s.step(fuse(f), 1 / 30) for f in recorded]
    smile = ARKIT_INDEX["mouthSmileLeft"]
    au12 = AU_INDEX["AU12"]
    for f, d, a in zip(recorded, outputs["direct"], outputs["au_linear"], strict=True):
        assert d.channels[smile] == f.blendshapes[smile]
        assert a.channels[smile] == pytest.approx(min(1.0, 1.1 * f.action_units[au12]))
    happy = EXPRESSION_PRESETS.index("happy")
    assert all(np.argmax(o.channels[PRESET]) == happy for o in outputs["emotion_preset"])
    assert all(o.particles["glow_intensity"] > 0.1 for o in outputs["emotion_preset"])
    # hybrid without a voice: the face plus a happy accent, never less than the face
    assert all(
        (h.channels[ARKIT] >= d.channels[ARKIT] - 1e-12).all()
        for h, d in zip(outputs["hybrid"], outputs["direct"], strict=True)
    )
    # through the whole mapper, the head follows the recorded tilt
    mapper = AvatarMapper(rig)
    rolls = [mapper.step(f, 1 / 30).head_roll_deg for f in recorded]
    assert max(rolls) - min(rolls) > 20


def test_a_real_smiling_talker_keeps_the_smile_while_speaking(recorded: list[FaceFeatures]) -> None:
    """The astronaut's real broad smile through the real face model, with real read speech
    (LibriVox) through the real voice path: under hybrid the smile stays (>= 0.7 x direct)
    in every frame where the voice holds the mouth, while the visemes still open the jaw.
    Before: the smile fell towards 0 on every syllable."""
    from server.tools.ab_metrics import expression_kept_while_speaking
    from tests.support.talker import librivox_voice

    voices = librivox_voice(6.0)
    states = [fuse(recorded[i % len(recorded)], v) for i, v in enumerate(voices)]
    hybrid, direct = make_strategy("hybrid", CTX), make_strategy("direct", CTX)
    assert isinstance(hybrid, Hybrid)
    h = np.array([hybrid.step(st, 1 / 30).channels for st in states])
    d = np.array([direct.step(st, 1 / 30).channels for st in states])
    held = np.array([hybrid.speech_weight(st) > 0.5 for st in states])
    assert held.mean() > 0.3  # the voice held the mouth for much of the clip
    smile, jaw = ARKIT_INDEX["mouthSmileLeft"], ARKIT_INDEX["jawOpen"]
    assert d[held, smile].min() > 0.8  # she smiles broadly throughout
    assert (h[held, smile] >= 0.7 * d[held, smile]).all()
    assert h[held, jaw].mean() > d[held, jaw].mean() + 0.1  # the visemes open the mouth the camera sees closed
    assert h[held, jaw].max() > 0.4
    inputs = np.array([st.face.blendshapes for st in states])
    speaking_p = np.array([st.voice.speaking_probability for st in states])
    kept = expression_kept_while_speaking(h[:, ARKIT], ARKIT_BLENDSHAPES, inputs, speaking_p)
    assert kept is not None and kept > 0.9
    # Same inputs and dt, same output.
    again = make_strategy("hybrid", CTX)
    for st, out in zip(states, h, strict=True):
        assert again.step(st, 1 / 30).channels == pytest.approx(out, abs=1e-12)
