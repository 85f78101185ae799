"""Which canonical channels drive an avatar's own morph targets and bones.

Pure name matching and the documented retarget table (docs/rigs.md). The glTF/VRM
reading that feeds it lives in server/assets/rig_inspect.py.
"""

from __future__ import annotations

import re

from .action_units import AU_FROM_BLENDSHAPES
from .vocabulary import ARKIT_BLENDSHAPES, VISEMES

_ARKIT_BY_KEY = {n.lower(): n for n in ARKIT_BLENDSHAPES}
ARKIT_PREFIXES = ("blendshape1", "blendshape", "arkit", "bs", "shapes", "face", "head", "mesh")
VISEME_ALIASES = {v.lower(): v for v in VISEMES}
# VRChat spells two visemes differently.
VISEME_ALIASES.update(
    {
        "ch": "CH",
        "ss": "SS",
        "nn": "nn",
        "rr": "RR",
        "th": "TH",
        "dd": "DD",
        "kk": "kk",
        "ff": "FF",
        "pp": "PP",
        "ih": "I",
        "oh": "O",
        "ou": "U",
        "e": "E",
    }
)


def _key(name: str) -> str:
    """Lower case, separators removed, _L/_R suffixes spelled out."""
    n = name.split(".")[-1] if "." in name and not name.lower().startswith("vrc.") else name
    n = re.sub(r"[_\-\s]([lr])$", lambda m: "left" if m.group(1).lower() == "l" else "right", n, flags=re.I)
    return re.sub(r"[^a-z0-9]", "", n.lower())


def match_arkit(name: str) -> str | None:
    """The ARKit name a morph target stands for: exact, case-insensitive, or behind a prefix."""
    if name in _ARKIT_BY_KEY.values():
        return name
    key = _key(name)
    if key in _ARKIT_BY_KEY:
        return _ARKIT_BY_KEY[key]
    for prefix in ARKIT_PREFIXES:
        if key.startswith(prefix) and key[len(prefix) :] in _ARKIT_BY_KEY:
            return _ARKIT_BY_KEY[key[len(prefix) :]]
    return None


def match_viseme(name: str) -> str | None:
    """Oculus viseme of `viseme_aa`, `Viseme_AA`, `vrc.v_aa` and the like."""
    m = re.fullmatch(r"(?:vrc\.)?(?:viseme|v)[_\-\s]?([a-z]+)", name.strip(), flags=re.I)
    return VISEME_ALIASES.get(m.group(1).lower()) if m else None


# Expressions for rigs without (working) ARKit targets: canonical channel -> weight. Each
# row says what the avatar's preset should show, from emotion presets, visemes, AUs and
# ARKit. "emotion" terms always stay. A "face" term is dropped when the rig has working
# ARKit targets for all the blendshapes behind it, and a "speech" term when the rig has a
# working target for that viseme: those targets already show that motion.
RETARGET_TABLE: dict[str, dict[str, dict[str, float]]] = {
    "happy": {"emotion": {"preset_happy": 1.0}, "face": {"AU12": 0.7, "AU06": 0.3}},
    "angry": {"emotion": {"preset_angry": 1.0}, "face": {"AU04": 0.6, "AU07": 0.2, "AU23": 0.2}},
    "sad": {"emotion": {"preset_sad": 1.0}, "face": {"AU15": 0.5, "AU01": 0.3, "AU04": 0.2}},
    "surprised": {"emotion": {"preset_surprised": 1.0}, "face": {"AU01": 0.3, "AU02": 0.3, "AU05": 0.2, "AU26": 0.2}},
    "relaxed": {"emotion": {"preset_relaxed": 1.0}},
    "fear": {"emotion": {"preset_fear": 1.0}, "face": {"AU01": 0.3, "AU04": 0.2, "AU05": 0.3, "AU20": 0.2}},
    "disgust": {"emotion": {"preset_disgust": 1.0}, "face": {"AU09": 0.6, "AU10": 0.4}},
    "neutral": {"emotion": {"preset_neutral": 1.0}},
    "aa": {"speech": {"viseme_aa": 1.0}, "face": {"jawOpen": 0.8}},
    "ih": {
        "speech": {"viseme_I": 1.0, "viseme_SS": 0.5, "viseme_CH": 0.3},
        "face": {"mouthStretchLeft": 0.3, "mouthStretchRight": 0.3},
    },
    "ou": {"speech": {"viseme_U": 1.0, "viseme_RR": 0.3}, "face": {"mouthPucker": 0.8}},
    "ee": {
        "speech": {"viseme_E": 1.0, "viseme_DD": 0.3, "viseme_nn": 0.3, "viseme_kk": 0.3},
        "face": {"mouthSmileLeft": 0.2, "mouthSmileRight": 0.2},
    },
    "oh": {"speech": {"viseme_O": 1.0}, "face": {"mouthFunnel": 0.8}},
    "blink": {"face": {"eyeBlinkLeft": 0.5, "eyeBlinkRight": 0.5}},
    "blinkLeft": {"face": {"eyeBlinkLeft": 1.0}},
    "blinkRight": {"face": {"eyeBlinkRight": 1.0}},
    "lookUp": {"face": {"eyeLookUpLeft": 0.5, "eyeLookUpRight": 0.5}},
    "lookDown": {"face": {"eyeLookDownLeft": 0.5, "eyeLookDownRight": 0.5}},
    "lookLeft": {"face": {"eyeLookOutLeft": 0.5, "eyeLookInRight": 0.5}},
    "lookRight": {"face": {"eyeLookInLeft": 0.5, "eyeLookOutRight": 0.5}},
    "browUp": {"face": {"AU01": 0.5, "AU02": 0.5}},
    "browDown": {"face": {"AU04": 1.0}},
    "eyeWide": {"face": {"AU05": 1.0}},
    "mouthClose": {"face": {"mouthClose": 1.0}},
}

# VRM 0.x preset names and VRoid Fcl_* morph names -> the expression rows above.
EXPRESSION_ALIASES: dict[str, str] = {
    # VRM 1.0 expression names are the rows themselves; VRM 0.x presets:
    "joy": "happy",
    "sorrow": "sad",
    "fun": "relaxed",
    "a": "aa",
    "i": "ih",
    "u": "ou",
    "e": "ee",
    "o": "oh",
    "blink_l": "blinkLeft",
    "blink_r": "blinkRight",
    "lookup": "lookUp",
    "lookdown": "lookDown",
    "lookleft": "lookLeft",
    "lookright": "lookRight",
    "surprise": "surprised",
    "blinkleft": "blinkLeft",
    "blinkright": "blinkRight",
    # VRoid Studio Fcl_* morph targets:
    "fcl_all_joy": "happy",
    "fcl_all_angry": "angry",
    "fcl_all_sorrow": "sad",
    "fcl_all_fun": "relaxed",
    "fcl_all_surprised": "surprised",
    "fcl_all_neutral": "neutral",
    "fcl_mth_a": "aa",
    "fcl_mth_i": "ih",
    "fcl_mth_u": "ou",
    "fcl_mth_e": "ee",
    "fcl_mth_o": "oh",
    "fcl_mth_close": "mouthClose",
    "fcl_eye_close": "blink",
    "fcl_eye_close_l": "blinkLeft",
    "fcl_eye_close_r": "blinkRight",
    "fcl_eye_surprised": "eyeWide",
    "fcl_brw_surprised": "browUp",
    "fcl_brw_angry": "browDown",
}


def expression_row(name: str) -> str | None:
    """The retarget row of a VRM expression or VRoid preset name, if it has one."""
    if name in RETARGET_TABLE:
        return name
    return EXPRESSION_ALIASES.get(name.lower())


def retarget_sources(row: str, working: set[str]) -> dict[str, float]:
    """The canonical inputs of one retarget row, given the canonical channels (ARKit names,
    viseme_<v>) that the rig already shows through working morph targets."""
    parts = RETARGET_TABLE[row]
    sources = dict(parts.get("emotion", {}))
    sources.update({k: w for k, w in parts.get("speech", {}).items() if k not in working})
    for term, w in parts.get("face", {}).items():
        behind = AU_FROM_BLENDSHAPES[term].keys() if term in AU_FROM_BLENDSHAPES else (term,)
        if not behind or not all(b in working for b in behind):
            sources[term] = w
    return sources


# Bone names (normalised: lower case, letters and digits only) -> canonical bone, in
# order of preference; "mixamorig:", "J_Bip_C_" and similar prefixes are stripped first.
BONE_NAMES: dict[str, tuple[str, ...]] = {
    "head": ("head",),
    "neck": ("neck",),
    "left_eye": ("lefteye", "eyeleft", "eyel", "lefteyeball", "faceeyel", "adjlfaceeye"),
    "right_eye": ("righteye", "eyeright", "eyer", "righteyeball", "faceeyer", "adjrfaceeye"),
    "spine": ("spine", "spine1", "hips"),
    "chest": ("chest", "upperchest", "spine2", "spine1"),
}
BONE_PREFIXES = ("mixamorig", "jbipc", "jbipl", "jbipr", "jadjl", "jadjr", "armature", "bip01", "def", "cc_base_")


def normalise_bone(name: str) -> str:
    key = re.sub(r"[^a-z0-9]", "", name.lower())
    for prefix in BONE_PREFIXES:
        if key.startswith(prefix) and len(key) > len(prefix):
            # "J_Adj_L_FaceEye" keeps its side: "jadjl" + "faceeye" -> "faceeyel"
            side = {"jbipl": "l", "jadjl": "l", "jbipr": "r", "jadjr": "r"}.get(prefix, "")
            return key[len(prefix) :] + side
    return key


def match_bones(node_names: dict[int, str]) -> dict[str, int]:
    """Canonical bone -> node index, by name, for nodes that are joints."""
    by_key: dict[str, int] = {}
    for index, name in node_names.items():
        by_key.setdefault(normalise_bone(name), index)
    found: dict[str, int] = {}
    for bone, candidates in BONE_NAMES.items():
        for c in candidates:
            if c in by_key and by_key[c] not in found.values():
                found[bone] = by_key[c]
                break
    return found
