"""Pronunciations for words the aligner's dictionary (CMUdict, shipped with pocketsphinx) does
not have — names, spellings, numbers — from espeak-ng's phonemizer, in ARPAbet.

espeak-ng spells numbers out ("12" → t w 'E l v) and reads unknown words by its letter-to-sound
rules; its English mnemonics map onto ARPAbet below (r-coloured vowels become the vowel and R,
syllabic consonants a schwa and the consonant, stress marks are dropped: CMUdict's acoustic
model has none).
"""

from __future__ import annotations

from .espeak import phonemes_of

ESPEAK_TO_ARPABET: dict[str, str] = {
    "p": "P",
    "b": "B",
    "m": "M",
    "f": "F",
    "v": "V",
    "T": "TH",
    "D": "DH",
    "t": "T",
    "d": "D",
    "t#": "T",
    "d#": "D",
    "k": "K",
    "g": "G",
    "N": "NG",
    "x": "K",
    "tS": "CH",
    "dZ": "JH",
    "S": "SH",
    "Z": "ZH",
    "s": "S",
    "z": "Z",
    "n": "N",
    "l": "L",
    "n-": "AH N",
    "l-": "AH L",
    "@L": "AH L",
    "r": "R",
    "r-": "R",
    "w": "W",
    "j": "Y",
    "h": "HH",
    "a": "AE",
    "aa": "AA",
    "A:": "AA",
    "A@": "AA R",
    "a#": "AH",
    "aI": "AY",
    "aI@": "AY ER",
    "aU": "AW",
    "aU@": "AW ER",
    "@": "AH",
    "@2": "AH",
    "@5": "AH",
    "V": "AH",
    "a2": "AH",
    "3:": "ER",
    "3": "ER",
    "E": "EH",
    "e@": "EH R",
    "eI": "EY",
    "e": "EH",
    "E2": "EH",
    "I": "IH",
    "i": "IY",
    "i:": "IY",
    "I2": "IH",
    "I#": "IH",
    "i@": "IY AH",
    "i@3": "IY ER",
    "0": "AA",
    "O:": "AO",
    "O@": "AO R",
    "oU": "OW",
    "OI": "OY",
    "o@": "AO R",
    "O": "AO",
    "U": "UH",
    "u:": "UW",
    "U@": "UH R",
    "u": "UW",
}


def arpabet(word: str) -> str:
    """The word's pronunciation as ARPAbet phones separated by spaces; ValueError when espeak
    gives nothing pronounceable (an empty or symbol-only token)."""
    phones = []
    for mnemonic in phonemes_of(word):
        m = mnemonic.lstrip("',%=")
        mapped = ESPEAK_TO_ARPABET.get(m) or ESPEAK_TO_ARPABET.get(m.rstrip("0123456789"))
        if mapped:
            phones.append(mapped)
    if not phones:
        raise ValueError(f"no pronunciation for {word!r}")
    return " ".join(phones)
