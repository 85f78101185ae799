"""Speech with known phoneme timings from libespeak-ng (ctypes), for training and tests.

espeak-ng reports every phoneme it speaks with its start in the audio; `phoneme_visemes`
turns espeak's English phoneme mnemonics into Oculus visemes (documented table).
"""

from __future__ import annotations

import ctypes
import ctypes.util
from dataclasses import dataclass

import numpy as np

# espeak's English phoneme mnemonics -> Oculus visemes.
ESPEAK_TO_VISEME: dict[str, str] = {
    "p": "PP",
    "b": "PP",
    "m": "PP",
    "f": "FF",
    "v": "FF",
    "T": "TH",
    "D": "TH",
    "t": "DD",
    "d": "DD",
    "t#": "DD",
    "d#": "DD",
    "k": "kk",
    "g": "kk",
    "N": "kk",
    "x": "kk",
    "tS": "CH",
    "dZ": "CH",
    "S": "CH",
    "Z": "CH",
    "s": "SS",
    "z": "SS",
    "n": "nn",
    "l": "nn",
    "n-": "nn",
    "l-": "nn",
    "@L": "nn",
    "r": "RR",
    "r-": "RR",
    "3:": "RR",
    "3": "RR",
    "w": "U",
    "j": "I",
    "h": "aa",
    "a": "aa",
    "aa": "aa",
    "A:": "aa",
    "A@": "aa",
    "a#": "aa",
    "aI": "aa",
    "aU": "aa",
    "@": "aa",
    "@2": "aa",
    "@5": "aa",
    "V": "aa",
    "a2": "aa",
    "E": "E",
    "e@": "E",
    "eI": "E",
    "e": "E",
    "E2": "E",
    "I": "I",
    "i": "I",
    "i:": "I",
    "I2": "I",
    "I#": "I",
    "i@": "I",
    "i@3": "I",
    "0": "O",
    "O:": "O",
    "O@": "O",
    "oU": "O",
    "OI": "O",
    "o@": "O",
    "O": "O",
    "U": "U",
    "u:": "U",
    "U@": "U",
    "u": "U",
}


# American voices (en-us) realise some of these mnemonics differently from British ones
# (`espeak-ng -v en-us --ipa`): "0" is the unrounded LOT vowel [ɑː] ("shop", "bother"), and
# the r-coloured vowels end in an r — "A@" [ɑːɹ] "park", "e@" [ɛɹ] "there", "i@3" [ɪɹ] "near",
# "o@"/"O@" [ɔːɹ] "four", "U@" [ʊɹ] "tour" — where British ones have none.
AMERICAN_VISEME: dict[str, str] = {"0": "aa"}
R_COLOURED: dict[str, str] = {"A@": "aa", "e@": "E", "i@3": "I", "o@": "O", "O@": "O", "U@": "U"}
R_SHARE = 0.4  # the share of an r-coloured vowel that is its r


def _bare(mnemonic: str) -> str:
    return mnemonic.lstrip("',")  # stress marks and the syllable separator


def phoneme_viseme(mnemonic: str, american: bool = False) -> str:
    """Viseme of one espeak phoneme ('_' pauses and unknown symbols are silence); an
    r-coloured vowel's vowel part."""
    m = _bare(mnemonic)
    if m.startswith("_") or not m:
        return "sil"
    if american and m in AMERICAN_VISEME:
        return AMERICAN_VISEME[m]
    if american and m in R_COLOURED:
        return R_COLOURED[m]
    return ESPEAK_TO_VISEME.get(m) or ESPEAK_TO_VISEME.get(m.rstrip("0123456789#"), "sil")


@dataclass(frozen=True)
class SpokenText:
    audio: np.ndarray  # float32 mono
    rate_hz: int
    phonemes: list[tuple[float, str]]  # (start_ms, espeak mnemonic)
    voice: str = "en-us"

    @property
    def american(self) -> bool:
        return self.voice.split("+")[0] == "en-us"

    def visemes(self) -> list[tuple[float, str]]:
        """(start_ms, viseme) of every phoneme, an American r-coloured vowel split into its
        vowel and, for its last R_SHARE, RR."""
        out: list[tuple[float, str]] = []
        for i, (start, p) in enumerate(self.phonemes):
            out.append((start, phoneme_viseme(p, self.american)))
            if self.american and _bare(p) in R_COLOURED and i + 1 < len(self.phonemes):
                end = self.phonemes[i + 1][0]
                out.append((end - R_SHARE * (end - start), "RR"))
        return out

    def viseme_at(self, t_ms: float) -> str:
        current = "sil"
        for start, v in self.visemes():
            if start > t_ms:
                break
            current = v
        return current


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))
_PHONEME_EVENT, _SYNCHRONOUS, _PHONEME_EVENTS = 7, 2, 1
_PHONEME_INPUT = 0x100  # espeakPHONEMES: [[...]] in the text is phoneme mnemonics
_lib: ctypes.CDLL | None = None
_rate = 0


def _ensure_initialised() -> ctypes.CDLL:
    """The loaded library, initialised on first use."""
    global _lib, _rate
    if _lib is None:
        name = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
        lib = ctypes.CDLL(name)
        _rate = lib.espeak_Initialize(_SYNCHRONOUS, 0, None, _PHONEME_EVENTS)
        if _rate <= 0:
            raise RuntimeError("espeak-ng could not be initialised")
        lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int, ctypes.c_int]
        _lib = lib
    return _lib


def speak(
    text: str,
    voice: str = "en-us",
    words_per_minute: int = 160,
    pitch: int = 50,
    volume: int = 100,
    pitch_range: int = 50,
) -> SpokenText:
    """Synthesise text with espeak-ng and return the audio with phoneme start times.

    pitch and pitch_range are 0..100 (espeak's scale), volume 0..200. Phoneme mnemonics
    in double brackets are spoken as such: "[[A::::]]" is a held "aah"."""
    lib = _ensure_initialised()
    audio: list[np.ndarray] = []
    phonemes: list[tuple[float, str]] = []

    def collect(
        wav: ctypes._Pointer[ctypes.c_short], n: int, events: ctypes._Pointer[_Event]
    ) -> int:  # called by espeak during synthesis
        if n > 0:
            audio.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        i = 0
        while events[i].type != 0:
            if events[i].type == _PHONEME_EVENT:
                phonemes.append((events[i].sample * 1000.0 / _rate, events[i].id.string.decode()))
            i += 1
        return 0

    callback = _CALLBACK(collect)  # keep a reference for the duration of the call
    lib.espeak_SetSynthCallback(callback)
    lib.espeak_SetVoiceByName(voice.encode())
    for parameter, value in ((1, words_per_minute), (2, volume), (3, pitch), (4, pitch_range)):
        lib.espeak_SetParameter(parameter, value, 0)  # espeakRATE, VOLUME, PITCH, RANGE
    data = text.encode()
    lib.espeak_Synth(data, len(data) + 1, 0, 0, 0, _PHONEME_INPUT, None, None)
    lib.espeak_Synchronize()
    samples = np.concatenate(audio).astype(np.float32) / 32768.0 if audio else np.zeros(0, np.float32)
    return SpokenText(samples, _rate, phonemes, voice)


def phonemes_of(text: str, voice: str = "en-us") -> list[str]:
    """espeak-ng's phoneme mnemonics for a text, as it would speak it (numbers spelled out,
    stress marks kept on the mnemonics), without synthesising audio."""
    lib = _ensure_initialised()
    lib.espeak_SetVoiceByName(voice.encode())
    buffer = ctypes.create_string_buffer(text.encode())
    pointer = ctypes.c_void_p(ctypes.addressof(buffer))
    out: list[str] = []
    while pointer.value:
        clause = lib.espeak_TextToPhonemes(ctypes.byref(pointer), 1, ord(" ") << 8)  # UTF-8 in, space-separated
        if clause:
            out += clause.decode().split()
    return out
