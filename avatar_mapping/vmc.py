"""What the VMC protocol (sh-akira/VirtualMotionCaptureProtocol) says of one avatar frame:
blend values under the names a receiver's avatar has, and bone poses in Unity's frame; and,
the other way, what a tracker's VMC stream says of a face (`face_from_vmc`).

Pure: the OSC encoding and the sending are server/sinks/vmc.py's. Names are case-sensitive.

Profiles (what the receiver's avatar has):

* `perfect_sync`: the 52 ARKit blendshapes, named as VRM "perfect sync" avatars name their
  clips — the ARKit name with its first letter upper-cased (`EyeBlinkLeft`, `JawOpen`).
* `vrm0`: VRM 0.x presets — `A I U E O` from the visemes (aa, I, U, E, O), `Blink`,
  `Blink_L`, `Blink_R` from the eye blinks, `LookUp/Down/Left/Right` from the gaze
  blendshapes, `Joy Angry Sorrow Fun` from the emotion scores (Fun: surprise, VRM 0.x's
  closest), `Neutral` from the neutral score.
* `vrm1`: the same as VRM 1.0 expressions — `aa ih ou ee oh`, `blink blinkLeft blinkRight`,
  `lookUp lookDown lookLeft lookRight`, `happy angry sad relaxed surprised neutral`.
* `all`: every name of the three.

Bones: glTF's frame (the server's: right-handed, +Y up, the avatar facing +Z) to Unity's
(left-handed) with Z mirrored, as UniVRM 0.8x and later import VRM avatars and as the Unity
client's `AxisConversion.MirrorZ` does: a quaternion (x, y, z, w) becomes (-x, -y, z, w).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .avatar_frame import AvatarFrame
from .features import EyeGaze, FaceFeatures, HeadPose
from .rotation import IDENTITY_QUAT, euler_from_matrix, quat_multiply, quat_to_matrix
from .vocabulary import ARKIT_BLENDSHAPES, EMOTIONS

PROFILES = ("perfect_sync", "vrm0", "vrm1", "all")
# The protocol's bones (Unity's HumanBodyBones names) for the rig's bones that have one.
HUMAN_BONES = {
    "spine": "Spine",
    "chest": "Chest",
    "neck": "Neck",
    "head": "Head",
    "left_eye": "LeftEye",
    "right_eye": "RightEye",
}

PERFECT_SYNC_NAMES = tuple(n[0].upper() + n[1:] for n in ARKIT_BLENDSHAPES)
VRM0_NAMES = (
    "A",
    "I",
    "U",
    "E",
    "O",
    "Blink",
    "Blink_L",
    "Blink_R",
    "LookUp",
    "LookDown",
    "LookLeft",
    "LookRight",
    "Joy",
    "Angry",
    "Sorrow",
    "Fun",
    "Neutral",
)
VRM1_NAMES = (
    "aa",
    "ih",
    "ou",
    "ee",
    "oh",
    "blink",
    "blinkLeft",
    "blinkRight",
    "lookUp",
    "lookDown",
    "lookLeft",
    "lookRight",
    "happy",
    "angry",
    "sad",
    "relaxed",
    "surprised",
    "neutral",
)
NAMES = {
    "perfect_sync": PERFECT_SYNC_NAMES,
    "vrm0": VRM0_NAMES,
    "vrm1": VRM1_NAMES,
    "all": PERFECT_SYNC_NAMES + VRM0_NAMES + VRM1_NAMES,
}


@dataclass(frozen=True)
class BonePose:
    name: str  # HumanBodyBones
    position: tuple[float, float, float]
    rotation: tuple[float, float, float, float]  # Unity frame, (x, y, z, w)


def gltf_to_unity(q: Sequence[float] | NDArray[np.float64]) -> tuple[float, float, float, float]:
    """A local rotation from glTF's frame to Unity's, Z mirrored (UniVRM's import)."""
    x, y, z, w = (float(v) for v in q)
    return (-x, -y, z, w)


def blend_values(
    frame: AvatarFrame, profile: str, emotion_scores: NDArray[np.float64] | None = None
) -> list[tuple[str, float]]:
    """(name, value in 0..1) for every name of the profile, in the profile's order.
    ``emotion_scores``: the latest scores over EMOTIONS (None: emotions at 0)."""
    if profile not in NAMES:
        raise ValueError(f"VMC profile must be one of {PROFILES}, not {profile!r}")
    weights = frame.weights_by_name()
    arkit = {n: weights.get(n, 0.0) for n in ARKIT_BLENDSHAPES}
    vis = frame.visemes
    emo = dict(zip(EMOTIONS, (float(s) for s in emotion_scores), strict=True)) if emotion_scores is not None else {}

    def pair(a: str, b: str) -> float:
        return (arkit[a] + arkit[b]) / 2

    shared = {  # the VRM expressions, by their VRM 1.0 names
        "aa": vis.get("aa", 0.0),
        "ih": vis.get("I", 0.0),
        "ou": vis.get("U", 0.0),
        "ee": vis.get("E", 0.0),
        "oh": vis.get("O", 0.0),
        "blink": pair("eyeBlinkLeft", "eyeBlinkRight"),
        "blinkLeft": arkit["eyeBlinkLeft"],
        "blinkRight": arkit["eyeBlinkRight"],
        "lookUp": pair("eyeLookUpLeft", "eyeLookUpRight"),
        "lookDown": pair("eyeLookDownLeft", "eyeLookDownRight"),
        # Looking to the avatar's left: the left eye looks out, the right eye in.
        "lookLeft": pair("eyeLookOutLeft", "eyeLookInRight"),
        "lookRight": pair("eyeLookInLeft", "eyeLookOutRight"),
        "happy": emo.get("happy", 0.0),
        "angry": emo.get("angry", 0.0),
        "sad": emo.get("sad", 0.0),
        "relaxed": 0.0,
        "surprised": emo.get("surprise", 0.0),
        "neutral": emo.get("neutral", 0.0),
    }
    vrm0 = dict(
        zip(
            VRM0_NAMES,
            (
                shared[k]
                for k in (
                    "aa",
                    "ih",
                    "ou",
                    "ee",
                    "oh",
                    "blink",
                    "blinkLeft",
                    "blinkRight",
                    "lookUp",
                    "lookDown",
                    "lookLeft",
                    "lookRight",
                    "happy",
                    "angry",
                    "sad",
                    "surprised",
                    "neutral",
                )
            ),
            strict=True,
        )
    )
    values = {**dict(zip(PERFECT_SYNC_NAMES, arkit.values(), strict=True)), **vrm0, **shared}
    return [(name, min(1.0, max(0.0, float(values[name])))) for name in NAMES[profile]]


def bone_poses(frame: AvatarFrame, offsets: dict[str, tuple[float, float, float]] | None = None) -> list[BonePose]:
    """The frame's bones that VMC names, local rotations in Unity's frame; positions are the
    bones' local offsets in the receiver's rig (``offsets``; zero when unknown — receivers
    such as VSeeFace and EVMC4U take rotations only for these bones)."""
    offsets = offsets or {}
    return [
        BonePose(HUMAN_BONES[b], offsets.get(b, (0.0, 0.0, 0.0)), gltf_to_unity(q))
        for b, q in zip(frame.bones, frame.rotations, strict=True)
        if b in HUMAN_BONES
    ]


# -- VMC in: a tracker's stream as face features ---------------------------------------------
_ARKIT_BY_VMC_NAME = {
    **{n: i for i, n in enumerate(ARKIT_BLENDSHAPES)},
    **{n: i for i, n in enumerate(PERFECT_SYNC_NAMES)},
}


def face_from_vmc(
    blends: dict[str, float], bones: dict[str, tuple[float, float, float, float]], capture_ms: int
) -> FaceFeatures:
    """What one applied VMC frame says of a face: ARKit blendshapes by their ARKit or perfect-
    sync names (others — VRM presets — are not a face measurement and are left out), the head
    from Neck·Head and the eyes from LeftEye/RightEye (Unity's frame, back to glTF's with the
    same Z mirror), in this project's conventions (rotation.py)."""
    weights = np.zeros(len(ARKIT_BLENDSHAPES))
    for name, value in blends.items():
        index = _ARKIT_BY_VMC_NAME.get(name)
        if index is not None:
            weights[index] = value
    head_q = IDENTITY_QUAT
    for bone in ("Neck", "Head"):
        if bone in bones:
            head_q = quat_multiply(head_q, gltf_to_unity(bones[bone]))  # the mirror is its own inverse
    yaw, pitch, roll = euler_from_matrix(quat_to_matrix(head_q))
    eyes = []
    for bone in ("LeftEye", "RightEye"):
        eye_yaw, eye_pitch, _ = euler_from_matrix(quat_to_matrix(gltf_to_unity(bones.get(bone, IDENTITY_QUAT))))
        eyes.append(EyeGaze(eye_yaw, eye_pitch))
    return FaceFeatures.from_blendshapes(
        weights, capture_ms, head=HeadPose(yaw, pitch, roll), left_eye=eyes[0], right_eye=eyes[1]
    )
