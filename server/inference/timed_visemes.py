"""Timed visemes: phone alignment with pocketsphinx, ARPAbet -> Oculus visemes, crossfades.

With a transcript, forced alignment (a word pass, then `set_alignment()` and a phone pass,
as pocketsphinx 5 does it; words missing from its dictionary, numbers included, pronounced by
espeak-ng: pronunciations.py; a transcript the aligner cannot fit with its optional pauses
between words is aligned again without them); without one, phone recognition with
pocketsphinx's phonetic language model. Both use the English acoustic model and dictionary
that the pocketsphinx wheel ships. Then the audio itself corrects the phones: times moved to
the centre of pocketsphinx's analysis window, each boundary moved to the strongest spectral
change near it, and pauses the phones run through made silent. Needs the whole utterance:
for recorded lines and the look-ahead mode, not for live lip-sync.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from pocketsphinx import Decoder, get_model_path

from avatar_mapping.vocabulary import VISEME_INDEX, VISEMES

from .pronunciations import arpabet
from .realtime_visemes import WINDOW, frame_features

FRAME_MS = 10.0  # pocketsphinx frames
# Frame t analyses samples [160t, 160t + 410): what it hears is centred 12.8 ms after the
# time it is reported at, so every phone time is moved by that much (measured: without it
# boundaries come 12.5 ms early against espeak-ng's own timing, on five voices alike).
FRAME_CENTRE_MS = 410 / 16 / 2
# Boundary refinement: each boundary moves to the strongest spectral change (MFCCs every 5 ms,
# the distance between the 20 ms before and after) within this distance, keeping every phone
# at least MIN_PHONE_MS long.
REFINE_RADIUS_MS, MIN_PHONE_MS = 15.0, 15.0
# Pauses: stretches of at least PAUSE_MS quieter than the utterance's loud frames (90th
# percentile) by PAUSE_DB are silence, unless a stop's closure (which is silent too).
PAUSE_MS, PAUSE_DB = 100.0, 35.0
STOPS = {"P", "B", "T", "D", "K", "G", "CH", "JH"}
# Crossfade between successive visemes, centred on the boundary (30-60 ms allowed).
CROSSFADE_MS = 40.0

ARPABET_TO_VISEME: dict[str, str] = {
    "AA": "aa",
    "AE": "aa",
    "AH": "aa",
    "AO": "O",
    "AW": "aa",
    "AY": "aa",
    "EH": "E",
    "ER": "RR",
    "EY": "E",
    "IH": "I",
    "IY": "I",
    "OW": "O",
    "OY": "O",
    "UH": "U",
    "UW": "U",
    "B": "PP",
    "P": "PP",
    "M": "PP",
    "F": "FF",
    "V": "FF",
    "TH": "TH",
    "DH": "TH",
    "T": "DD",
    "D": "DD",
    "K": "kk",
    "G": "kk",
    "NG": "kk",
    "CH": "CH",
    "JH": "CH",
    "SH": "CH",
    "ZH": "CH",
    "S": "SS",
    "Z": "SS",
    "N": "nn",
    "L": "nn",
    "R": "RR",
    "W": "U",
    "Y": "I",
    "HH": "aa",
    "SIL": "sil",
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
    pcm: bytes = (np.clip(audio_16k, -1.0, 1.0) * 32767).astype("<i2").tobytes()
    return pcm


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
    """Forced alignment of a known transcript; raises AlignmentError when it cannot. Times
    as pocketsphinx reports them (see timed_phones for the corrected ones)."""
    words = normalise_transcript(transcript)
    if not words:
        raise AlignmentError("the transcript has no words")
    pcm = _pcm(audio_16k)
    try:
        return _align(pcm, words, fillers=True)
    except AlignmentError:
        # pocketsphinx 5 sometimes cannot set up the phone pass around its optional pauses
        # ("Failed to set up sub-word alignment"); without them every transcript aligns, a
        # pause then lengthening a neighbouring phone (made silent again by _pauses_silent).
        return _align(pcm, words, fillers=False)


def _align(pcm: bytes, words: str, fillers: bool) -> list[Phone]:
    decoder = Decoder(samprate=16000, lm=None, bestpath=False, fsgusefiller=fillers, loglevel="FATAL")
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
    return [
        Phone(offset_ms + s.start_frame * FRAME_MS, offset_ms + (s.end_frame + 1) * FRAME_MS, s.word)
        for s in decoder.seg()
    ]


def recognise_phones(audio_16k: np.ndarray) -> list[Phone]:
    """Phone recognition, for audio without a usable transcript."""
    decoder = phone_decoder()
    _decode(decoder, _pcm(audio_16k))
    return decoded_phones(decoder)


def timed_phones(audio_16k: np.ndarray, transcript: str | None = None) -> tuple[list[Phone], str]:
    """Phones and how they were found ("alignment" or "recognition"), their times corrected
    by the audio (window centre, spectral change, pauses)."""
    phones, how = None, "recognition"
    if transcript:
        try:
            phones, how = align(audio_16k, transcript), "alignment"
        except AlignmentError:
            pass
    if phones is None:
        phones = recognise_phones(audio_16k)
    return refine(phones, audio_16k), how


def refine(phones: list[Phone], audio_16k: np.ndarray) -> list[Phone]:
    """Phone times from pocketsphinx's frames to what the audio says (module docstring)."""
    if not phones:
        return phones
    shifted = [Phone(p.start_ms + FRAME_CENTRE_MS, p.end_ms + FRAME_CENTRE_MS, p.name) for p in phones]
    return _pauses_silent(_boundaries_at_spectral_change(shifted, audio_16k), audio_16k)


def spectral_change(audio_16k: np.ndarray, hop_ms: float = 5.0, span: int = 4) -> np.ndarray:
    """Per hop (index i: time i * hop_ms), the distance between the mean standardised MFCCs of
    the `span` hops after and before it."""
    hop = int(16 * hop_ms)
    padded = np.concatenate(
        [np.zeros(WINDOW // 2, np.float32), audio_16k.astype(np.float32), np.zeros(WINDOW // 2, np.float32)]
    )
    n = len(audio_16k) // hop
    m = np.array([frame_features(padded[i * hop : i * hop + WINDOW])[0][1:] for i in range(n)]).reshape(n, -1)
    if n <= 2 * span:
        return np.zeros(n)
    m = (m - m.mean(axis=0)) / (m.std(axis=0) + 1e-9)
    csum = np.vstack([np.zeros(m.shape[1]), np.cumsum(m, axis=0)])
    change = np.zeros(n)
    t = np.arange(span, n - span)
    change[t] = np.linalg.norm((csum[t + span] - csum[t]) - (csum[t] - csum[t - span]), axis=1) / span
    return change


def _boundaries_at_spectral_change(phones: list[Phone], audio_16k: np.ndarray, hop_ms: float = 5.0) -> list[Phone]:
    change = spectral_change(audio_16k, hop_ms)
    starts = [p.start_ms for p in phones]
    for i in range(1, len(phones)):
        lo = max(int((starts[i] - REFINE_RADIUS_MS) / hop_ms), 1)
        hi = min(int((starts[i] + REFINE_RADIUS_MS) / hop_ms) + 1, len(change) - 1)
        if hi <= lo:
            continue
        best = (lo + int(np.argmax(change[lo:hi]))) * hop_ms
        after = starts[i + 1] if i + 1 < len(starts) else phones[-1].end_ms
        if starts[i - 1] + MIN_PHONE_MS < best < after - MIN_PHONE_MS:
            starts[i] = best
    ends = starts[1:] + [phones[-1].end_ms]
    return [Phone(s, e, p.name) for s, e, p in zip(starts, ends, phones, strict=True)]


def _pauses_silent(phones: list[Phone], audio_16k: np.ndarray) -> list[Phone]:
    hop = int(16 * FRAME_MS)
    n = len(audio_16k) // hop
    if n == 0:
        return phones
    frames = audio_16k[: n * hop].reshape(n, hop).astype(np.float64)
    db = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    quiet = db < np.percentile(db, 90) - PAUSE_DB
    pauses, i = [], 0
    while i < n:
        j = i
        while j < n and quiet[j]:
            j += 1
        if (j - i) * FRAME_MS >= PAUSE_MS:
            pauses.append((i * FRAME_MS, j * FRAME_MS))
        i = max(j, i + 1)
    out: list[Phone] = []
    for p in phones:
        if p.name == "SIL" or p.name.rstrip("012") in STOPS:
            out.append(p)
            continue
        cursor = p.start_ms
        for start, end in pauses:
            s, e = max(start, cursor), min(end, p.end_ms)
            if e - s >= MIN_PHONE_MS:
                if s > cursor:
                    out.append(Phone(cursor, s, p.name))
                out.append(Phone(s, e, "SIL"))
                cursor = e
        if cursor < p.end_ms:
            out.append(Phone(cursor, p.end_ms, p.name))
    return out


def viseme_changes(items: Iterable[tuple[float, str]]) -> list[float]:
    """Times where the viseme changes to a non-silent one; items are (start_ms, viseme)."""
    out: list[float] = []
    last: str | None = None
    for start, v in items:
        if v != last and v != "sil":
            out.append(start)
        last = v
    return out


def viseme_track(phones: list[Phone], duration_ms: float, rate_hz: float = 100.0, lead_ms: float = 0.0) -> np.ndarray:
    """(frames, 15) viseme weights at rate_hz: each phone's viseme, crossfaded over
    CROSSFADE_MS around every boundary, with the coarticulation of `visemes_at`; `lead_ms`
    moves the mouth that much ahead of the sound (animators lead by a frame or two)."""
    n = int(np.ceil(duration_ms * rate_hz / 1000.0))
    return visemes_at(phones, (np.arange(n) + 0.5) * 1000.0 / rate_hz + lead_ms)


# Coarticulation, as animators draw it: lips close fully for a bilabial (PP ramps in and out
# over BILABIAL_RAMP_MS, not the usual crossfade, so a 30 ms closure is still held shut
# instead of peaking at 0.75), and rounding for a rounded vowel starts ANTICIPATION_MS before
# it, in the consonants before (up to ANTICIPATION_WEIGHT: they keep the lead, the lips
# already round). Neither moves a boundary: what leads where is unchanged.
BILABIAL, BILABIAL_RAMP_MS = {"PP"}, 20.0
ROUNDED = {"U", "O"}
ANTICIPATION_MS, ANTICIPATION_WEIGHT = 80.0, 0.45


def visemes_at(phones: list[Phone], t_ms: np.ndarray) -> np.ndarray:
    """(len(t_ms), 15) crossfaded viseme weights at the given times."""
    t = np.asarray(t_ms, dtype=np.float64)
    weights = np.zeros((len(t), len(VISEMES)))
    covered = np.zeros(len(t))
    half = CROSSFADE_MS / 2
    for p in phones:
        ramp = BILABIAL_RAMP_MS if p.viseme in BILABIAL else CROSSFADE_MS
        rise = np.clip((t - (p.start_ms - ramp / 2)) / ramp, 0.0, 1.0)
        fall = np.clip(((p.end_ms + ramp / 2) - t) / ramp, 0.0, 1.0)
        w = np.minimum(rise, fall)
        if p.viseme in ROUNDED:
            early = ANTICIPATION_WEIGHT * np.clip((t - (p.start_ms - ANTICIPATION_MS)) / (ANTICIPATION_MS - half), 0, 1)
            w = np.maximum(w, np.where(t < p.start_ms, early, 0.0))
        weights[:, VISEME_INDEX[p.viseme]] += w
        covered += w
    weights[:, VISEME_INDEX["sil"]] += np.clip(1.0 - covered, 0.0, 1.0)
    normalised: NDArray[np.float64] = weights / np.maximum(weights.sum(axis=1, keepdims=True), 1e-9)
    return normalised
