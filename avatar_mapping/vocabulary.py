"""The one vocabulary of the project: every name a message, a rig or a client uses.

ARKit blendshapes, action units, Oculus visemes, emotions and bones are defined here
and nowhere else; other languages get generated copies.
"""

from __future__ import annotations

# Apple ARKit ARFaceAnchor.BlendShapeLocation names, in the order MediaPipe's
# FaceLandmarker reports them (after its leading "_neutral"). "Left"/"Right" are the
# subject's own left and right, as in ARKit.
ARKIT_BLENDSHAPES: tuple[str, ...] = (
    "browDownLeft",
    "browDownRight",
    "browInnerUp",
    "browOuterUpLeft",
    "browOuterUpRight",
    "cheekPuff",
    "cheekSquintLeft",
    "cheekSquintRight",
    "eyeBlinkLeft",
    "eyeBlinkRight",
    "eyeLookDownLeft",
    "eyeLookDownRight",
    "eyeLookInLeft",
    "eyeLookInRight",
    "eyeLookOutLeft",
    "eyeLookOutRight",
    "eyeLookUpLeft",
    "eyeLookUpRight",
    "eyeSquintLeft",
    "eyeSquintRight",
    "eyeWideLeft",
    "eyeWideRight",
    "jawForward",
    "jawLeft",
    "jawOpen",
    "jawRight",
    "mouthClose",
    "mouthDimpleLeft",
    "mouthDimpleRight",
    "mouthFrownLeft",
    "mouthFrownRight",
    "mouthFunnel",
    "mouthLeft",
    "mouthLowerDownLeft",
    "mouthLowerDownRight",
    "mouthPressLeft",
    "mouthPressRight",
    "mouthPucker",
    "mouthRight",
    "mouthRollLower",
    "mouthRollUpper",
    "mouthShrugLower",
    "mouthShrugUpper",
    "mouthSmileLeft",
    "mouthSmileRight",
    "mouthStretchLeft",
    "mouthStretchRight",
    "mouthUpperUpLeft",
    "mouthUpperUpRight",
    "noseSneerLeft",
    "noseSneerRight",
    "tongueOut",
)
ARKIT_INDEX: dict[str, int] = {name: i for i, name in enumerate(ARKIT_BLENDSHAPES)}

# FACS action units estimated from blendshapes (table in action_units.py).
ACTION_UNITS: tuple[str, ...] = (
    "AU01",
    "AU02",
    "AU04",
    "AU05",
    "AU06",
    "AU07",
    "AU09",
    "AU10",
    "AU12",
    "AU14",
    "AU15",
    "AU17",
    "AU18",
    "AU20",
    "AU22",
    "AU23",
    "AU24",
    "AU25",
    "AU26",
    "AU28",
    "AU34",
    "AU43",
    "AU45",
)
AU_INDEX: dict[str, int] = {name: i for i, name in enumerate(ACTION_UNITS)}

AU_DESCRIPTIONS: dict[str, str] = {
    "AU01": "inner brow raiser",
    "AU02": "outer brow raiser",
    "AU04": "brow lowerer",
    "AU05": "upper lid raiser",
    "AU06": "cheek raiser",
    "AU07": "lid tightener",
    "AU09": "nose wrinkler",
    "AU10": "upper lip raiser",
    "AU12": "lip corner puller",
    "AU14": "dimpler",
    "AU15": "lip corner depressor",
    "AU17": "chin raiser",
    "AU18": "lip pucker",
    "AU20": "lip stretcher",
    "AU22": "lip funneler",
    "AU23": "lip tightener",
    "AU24": "lip pressor",
    "AU25": "lips part",
    "AU26": "jaw drop",
    "AU28": "lip suck",
    "AU34": "cheek puff",
    "AU43": "eyes closed",
    "AU45": "blink",
}

# The 15 Oculus (Meta) OVRLipSync visemes, in their canonical order.
VISEMES: tuple[str, ...] = (
    "sil",
    "PP",
    "FF",
    "TH",
    "DD",
    "kk",
    "CH",
    "SS",
    "nn",
    "RR",
    "aa",
    "E",
    "I",
    "O",
    "U",
)
VISEME_INDEX: dict[str, int] = {name: i for i, name in enumerate(VISEMES)}

# The 7 emotion classes of the protocol.
EMOTIONS: tuple[str, ...] = ("neutral", "happy", "sad", "angry", "surprise", "disgust", "fear")

# Expression presets (VRM 1.0 names, plus fear and disgust, which VRM lacks), driven by
# emotion-based strategies and retargeted to rigs that only have a few emotion morphs.
EXPRESSION_PRESETS: tuple[str, ...] = (
    "happy",
    "sad",
    "angry",
    "surprised",
    "fear",
    "disgust",
    "relaxed",
    "neutral",
)
# Which emotion class each preset expresses.
PRESET_OF_EMOTION: dict[str, str] = {
    "neutral": "neutral",
    "happy": "happy",
    "sad": "sad",
    "angry": "angry",
    "surprise": "surprised",
    "disgust": "disgust",
    "fear": "fear",
}

# Bones the server drives. Rotations are quaternions [x, y, z, w] in the glTF frame
# (+Y up, +Z the avatar's forward, +X the avatar's left), local to the parent bone.
# spine and chest carry posture (a slouch, a lean) from emotion strategies.
BONES: tuple[str, ...] = ("spine", "chest", "neck", "head", "left_eye", "right_eye")
BONE_INDEX: dict[str, int] = {name: i for i, name in enumerate(BONES)}

# The canonical channel vector every strategy produces and every rig reads from:
# ARKit weights, AU intensities, Oculus viseme weights (as "viseme_<name>", the usual
# morph target spelling) and expression presets (as "preset_<name>").
VISEME_CHANNELS: tuple[str, ...] = tuple(f"viseme_{v}" for v in VISEMES)
PRESET_CHANNELS: tuple[str, ...] = tuple(f"preset_{p}" for p in EXPRESSION_PRESETS)


def mirror_name(name: str) -> str:
    """The left/right counterpart of a channel name ("eyeBlinkLeft" <-> "eyeBlinkRight")."""
    for a, b in (("Left", "Right"), ("left", "right")):
        if a in name:
            return name.replace(a, b)
        if b in name:
            return name.replace(b, a)
    return name


# Index permutation that swaps every Left/Right ARKit pair (mouthLeft <-> mouthRight too).
ARKIT_MIRROR_PERMUTATION: tuple[int, ...] = tuple(ARKIT_INDEX[mirror_name(n)] for n in ARKIT_BLENDSHAPES)


CANONICAL_CHANNELS: tuple[str, ...] = ARKIT_BLENDSHAPES + ACTION_UNITS + VISEME_CHANNELS + PRESET_CHANNELS
CANONICAL_INDEX: dict[str, int] = {name: i for i, name in enumerate(CANONICAL_CHANNELS)}
