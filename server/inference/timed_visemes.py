"""Timed visemes: phone alignment with pocketsphinx, ARPAbet -> Oculus visemes, crossfades.

With a transcript, forced alignment (a word pass, then `set_alignment()` and a phone pass,
as pocketsphinx 5 does it; words missing from its dictionary, numbers included, pronounced by
espeak-ng: pronunciations.py); without one, or when the transcript cannot be aligned, phone
recognition with pocketsphinx's phonetic language model. Both use the English acoustic
model and dictionary that the pocketsphinx wheel ships. Needs the whole utterance: for
recorded lines and the look-ahead mode, not for live lip-sync.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pocketsphinx import Decoder, get_model_path

from avatar_mapping.vocabulary import VISEME_INDEX, VISEMES

from .pronunciations import arpabet

FRAME_MS = 10.0  # pocketsphinx frames
# Crossfade between successive visemes, centred on the boundary (30-60 ms allowed).
CROSSFADE_MS = 40.0

ARPABET_TO_VISEME: dict[str, str] = {
    "AA": "aa", "AE": "aa", "AH": "aa", "AO": "O", "AW": "aa", "AY": "aa", "EH": "E", "ER": "RR", "EY": "E",
    "IH": "I", "IY": "I", "OW": "O", "OY": "O", "UH": "U", "UW": "U",
    "B": "PP", "P": "PP", "M": "PP", "F": "FF", "V": "FF", "TH": "TH", "DH": "TH", "T": "DD", "D": "DD",
    "K": "kk", "G": "kk", "NG": "kk", "CH": "CH", "JH": "CH", "SH": "CH", "ZH": "CH", "S": "SS", "Z": "SS",
    "N": "nn", "L": "nn", "R": "RR", "W": "U", "Y": "I", "HH": "aa", "SIL": "sil",
}


class AlignmentError(ValueError):
    pass


@dataclass(frozen=True)
class Phone:
    start_ms: float
    end_ms: float
    name: str  # ARPAbet, or SIL

    @property
    def viseme(self) -> str:
        return ARPABET_TO_VISEME.get(self.name.rstrip("012"), "sil")


def _pcm(audio_16k: np.ndarray) -> bytes:
    return (np.clip(audio_16k, -1.0, 1.0) * 32767).astype("<i2").tobytes()


def normalise_transcript(text: str) -> str:
    """Lower case, words and numbers only (digits stay: their pronunciation is espeak-ng's)."""
    return " ".join(w.strip("'") for w in re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split() if w.strip("'"))


def _pronounce_unknown(decoder: Decoder, words: str) -> None:
    """Words the dictionary lacks (names, spellings, numbers) get espeak-ng's pronunciation,
    so that alignment never fails on a word."""
    for word in dict.fromkeys(words.split()):
        if decoder.lookup_word(word) is None:
            try:
                decoder.add_word(word, arpabet(word), True)
            except ValueError:
                continue  # nothing pronounceable: alignment says so


def _decode(decoder: Decoder, pcm: bytes) -> None:
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()


def align(audio_16k: np.ndarray, transcript: str) -> list[Phone]:
    """Forced alignment of a known transcript; raises AlignmentError when it cannot."""
    words = normalise_transcript(transcript)
    if not words:
        raise AlignmentError("the transcript has no words")
    decoder = Decoder(samprate=16000, lm=None, bestpath=False, loglevel="FATAL")
    pcm = _pcm(audio_16k)
    try:
        _pronounce_unknown(decoder, words)
        decoder.set_align_text(words)
        _decode(decoder, pcm)  # words
        decoder.set_alignment()
        _decode(decoder, pcm)  # their phones
    except (RuntimeError, ValueError, KeyError) as e:
        raise AlignmentError(f"pocketsphinx could not align the transcript to this audio: {e}") from None
    alignment = decoder.get_alignment()
    if alignment is None:
        raise AlignmentError("pocketsphinx found no alignment of the transcript in this audio")
    return [Phone(p.start * FRAME_MS, (p.start + p.duration) * FRAME_MS, p.name) for p in alignment.phones()]


def phone_decoder() -> Decoder:
    """pocketsphinx in phone-loop mode (its English phone language model)."""
    model = str(Path(get_model_path()) / "en-us" / "en-us-phone.lm.bin")
    return Decoder(samprate=16000, allphone=model, lw=2.0, beam=1e-20, pbeam=1e-20, loglevel="FATAL")


def decoded_phones(decoder: Decoder, offset_ms: float = 0.0) -> list[Phone]:
    """The decoder's phones so far (partial during an utterance), times shifted by offset_ms."""
    return [Phone(offset_ms + s.start_frame * FRAME_MS, offset_ms + (s.end_frame + 1) * FRAME_MS, s.word)
            for s in decoder.seg()]


def recognise_phones(audio_16k: np.ndarray) -> list[Phone]:
    """Phone recognition, for audio without a usable transcript."""
    decoder = phone_decoder()
    _decode(decoder, _pcm(audio_16k))
    return decoded_phones(decoder)


def timed_phones(audio_16k: np.ndarray, transcript: str | None = None) -> tuple[list[Phone], str]:
    """Phones and how they were found: "alignment" or "recognition"."""
    if transcript:
        try:
            return align(audio_16k, transcript), "alignment"
        except AlignmentError:
            pass
    return recognise_phones(audio_16k), "recognition"


def viseme_track(phones: list[Phone], duration_ms: float, rate_hz: float = 100.0) -> np.ndarray:
    """(frames, 15) viseme weights at rate_hz: each phone's viseme, crossfaded over
    CROSSFADE_MS around every boundary (coarticulation: neighbours blend, no pops)."""
    n = int(np.ceil(duration_ms * rate_hz / 1000.0))
    return visemes_at(phones, (np.arange(n) + 0.5) * 1000.0 / rate_hz)


def visemes_at(phones: list[Phone], t_ms: np.ndarray) -> np.ndarray:
    """(len(t_ms), 15) crossfaded viseme weights at the given times."""
    t = np.asarray(t_ms, dtype=np.float64)
    weights = np.zeros((len(t), len(VISEMES)))
    covered = np.zeros(len(t))
    half = CROSSFADE_MS / 2
    for p in phones:
        rise = np.clip((t - (p.start_ms - half)) / CROSSFADE_MS, 0.0, 1.0)
        fall = np.clip(((p.end_ms + half) - t) / CROSSFADE_MS, 0.0, 1.0)
        w = np.minimum(rise, fall)
        weights[:, VISEME_INDEX[p.viseme]] += w
        covered += w
    weights[:, VISEME_INDEX["sil"]] += np.clip(1.0 - covered, 0.0, 1.0)
    return weights / np.maximum(weights.sum(axis=1, keepdims=True), 1e-9)
