"""SenseVoice's rich transcription, parsed. Pure; the one place its tag strings are read.

SenseVoice writes four tags before the words of each segment:
``<|en|><|HAPPY|><|Speech|><|withitn|>Hello there.`` — language, emotion, audio event and
text normalisation. FunASR concatenates segments when it merges VAD pieces, so a result
may hold several tagged runs; some carry only part of the tags, and a segment with no
speech reads ``<|nospeech|><|Event_UNK|>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

LANGUAGES = ("zh", "en", "yue", "ja", "ko", "nospeech")
# SenseVoice's emotion tags -> the protocol's classes. EMO_UNKNOWN maps to None.
EMOTION_TAGS = {
    "HAPPY": "happy",
    "SAD": "sad",
    "ANGRY": "angry",
    "NEUTRAL": "neutral",
    "FEARFUL": "fear",
    "DISGUSTED": "disgust",
    "SURPRISED": "surprise",
    "EMO_UNKNOWN": None,
}
# Audio events -> protocol names ("speech" is the ordinary case and is not reported as an event).
EVENT_TAGS = {
    "Speech": "speech",
    "BGM": "music",
    "Applause": "applause",
    "Laughter": "laughter",
    "Cry": "crying",
    "Sneeze": "sneeze",
    "Breath": "breath",
    "Cough": "cough",
    "Event_UNK": "unknown",
}
TEXT_NORM_TAGS = ("withitn", "woitn")
_TAG = re.compile(r"<\|([^|<>]*)\|>")


class SpeechTagError(ValueError):
    """A tag SenseVoice does not write: the model or FunASR changed under us."""


@dataclass(frozen=True)
class TimedWord:
    text: str
    start_ms: int
    end_ms: int


@dataclass(frozen=True)
class RichSegment:
    language: str | None
    emotion: str | None  # a protocol class, or None for EMO_UNKNOWN / no tag
    events: tuple[str, ...]  # non-speech events ("laughter", ...)
    text: str


@dataclass(frozen=True)
class RichTranscript:
    segments: tuple[RichSegment, ...]
    words: tuple[TimedWord, ...] = field(default=())

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.segments if s.text).strip()

    @property
    def language(self) -> str | None:
        """The language of most of the text (segments weighted by their length)."""
        votes: dict[str, int] = {}
        for s in self.segments:
            if s.language and s.language != "nospeech":
                votes[s.language] = votes.get(s.language, 0) + max(1, len(s.text))
        return max(votes, key=votes.__getitem__) if votes else None

    @property
    def emotion(self) -> str | None:
        """The emotion of most of the text; None when every segment is unknown."""
        votes: dict[str, int] = {}
        for s in self.segments:
            if s.emotion is not None:
                votes[s.emotion] = votes.get(s.emotion, 0) + max(1, len(s.text))
        return max(votes, key=votes.__getitem__) if votes else None

    @property
    def events(self) -> tuple[str, ...]:
        seen: list[str] = []
        for s in self.segments:
            seen += [e for e in s.events if e not in seen]
        return tuple(seen)


def parse_rich_text(text: str) -> tuple[RichSegment, ...]:
    """Split a rich transcription into segments; a new segment starts at each language tag
    (or at a tag after words). Raises SpeechTagError on a tag SenseVoice never writes."""
    segments: list[RichSegment] = []
    language = emotion = None
    events: list[str] = []
    words: list[str] = []
    started = False

    def close() -> None:
        if started:
            segments.append(
                RichSegment(
                    language, emotion, tuple(e for e in events if e != "speech"), " ".join("".join(words).split())
                )
            )

    pos = 0
    for m in _TAG.finditer(text):
        before = text[pos : m.start()]
        pos = m.end()
        if before.strip():
            words.append(before)
            started = True
        tag = m.group(1)
        if tag in LANGUAGES or words:  # a language tag, or any tag after words, opens a new segment
            close()
            language, emotion, events, words, started = None, None, [], [], False
        started = True
        if tag in LANGUAGES:
            language = tag
        elif tag in EMOTION_TAGS:
            emotion = EMOTION_TAGS[tag]
        elif tag in EVENT_TAGS:
            events.append(EVENT_TAGS[tag])
        elif tag not in TEXT_NORM_TAGS:
            raise SpeechTagError(f"unknown SenseVoice tag <|{tag}|> in {text!r}")
    rest = text[pos:]
    if rest.strip():
        words.append(rest)
        started = True
    close()
    return tuple(segments)


def parse_result(result: dict[str, Any]) -> RichTranscript:
    """One FunASR result dict: ``{"key", "text", ["timestamp": [[start_ms, end_ms], ...], "words": [...]]}``."""
    text = result.get("text")
    if not isinstance(text, str):
        raise SpeechTagError(f"FunASR result has no text: {result!r}")
    spans, names = result.get("timestamp") or [], result.get("words") or []
    if len(spans) != len(names):
        raise SpeechTagError(f"{len(names)} words but {len(spans)} timestamps")
    words = tuple(TimedWord(str(w), int(s), int(e)) for w, (s, e) in zip(names, spans, strict=True))
    return RichTranscript(parse_rich_text(text), words)
