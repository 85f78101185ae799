from avatar_mapping.vocabulary import (
    ACTION_UNITS,
    ARKIT_BLENDSHAPES,
    ARKIT_MIRROR_PERMUTATION,
    BONES,
    EMOTIONS,
    VISEMES,
    mirror_name,
)


def test_sizes_and_uniqueness() -> None:
    assert len(ARKIT_BLENDSHAPES) == len(set(ARKIT_BLENDSHAPES)) == 52
    assert VISEMES == ("sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR", "aa", "E", "I", "O", "U")
    assert set(EMOTIONS) == {"neutral", "happy", "sad", "angry", "surprise", "disgust", "fear"}
    assert set(BONES) == {"spine", "chest", "neck", "head", "left_eye", "right_eye"}
    required = {
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
        "AU20",
        "AU23",
        "AU24",
        "AU25",
        "AU26",
        "AU28",
        "AU43",
        "AU45",
    }
    assert required <= set(ACTION_UNITS)


def test_mirror_permutation_swaps_pairs_and_is_an_involution() -> None:
    perm = ARKIT_MIRROR_PERMUTATION
    assert sorted(perm) == list(range(52))
    assert all(perm[perm[i]] == i for i in range(52))
    assert ARKIT_BLENDSHAPES[perm[ARKIT_BLENDSHAPES.index("mouthLeft")]] == "mouthRight"
    assert ARKIT_BLENDSHAPES[perm[ARKIT_BLENDSHAPES.index("jawOpen")]] == "jawOpen"
    assert mirror_name("left_eye") == "right_eye"
