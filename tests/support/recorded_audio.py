"""Recordings for the speech-emotion tests: espeak-ng passages spoken calmly and excitedly,
encoded by PyAV in the formats users upload (WAV, FLAC, OGG/Opus, MP3)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Literal, TypedDict

import av
import numpy as np

from server.inference.audio import to_model_rate
from server.inference.espeak import speak


class Style(TypedDict):
    """espeak-ng's voice settings (``speak``'s keyword arguments)."""

    words_per_minute: int
    pitch: int
    volume: int
    pitch_range: int


CALM = Style(words_per_minute=120, pitch=25, volume=40, pitch_range=20)
EXCITED = Style(words_per_minute=230, pitch=80, volume=180, pitch_range=90)
CALM_LINES = (
    "I think we should take a slow walk by the river this evening.",
    "The weather is mild and the water is very still today.",
    "Let us sit down and read quietly for a while.",
)
EXCITED_LINES = (
    "Wow, I cannot believe we actually won the whole championship!",
    "Quick, everybody get over here right now, look at this!",
    "This is the most amazing thing that has ever happened to me!",
)
AudioCodec = Literal["pcm_s16le", "flac", "libopus", "libmp3lame"]
FORMATS: dict[str, AudioCodec] = {"wav": "pcm_s16le", "flac": "flac", "ogg": "libopus", "mp3": "libmp3lame"}


@dataclass(frozen=True)
class Passage:
    style: str  # "calm" or "excited"
    start_s: float
    end_s: float


def line(text: str, style: Style) -> np.ndarray:
    spoken = speak(text, **style)
    return to_model_rate(spoken.audio, spoken.rate_hz)


def calm_and_excited(rounds: int = 1, pause_s: float = 1.0, joined: bool = False) -> tuple[np.ndarray, list[Passage]]:
    """16 kHz speech: each round the calm lines then the excited lines, every line followed by
    ``pause_s`` of silence (``joined``: a passage's lines run together, 0.15 s apart, so a
    passage is one long utterance)."""
    parts, passages, t = [], [], 0.0
    for _ in range(rounds):
        for style, lines, params in (("calm", CALM_LINES, CALM), ("excited", EXCITED_LINES, EXCITED)):
            start = t
            for i, text in enumerate(lines):
                audio = line(text, params)
                gap = pause_s if not joined or i == len(lines) - 1 else 0.15
                parts += [audio, np.zeros(int(16000 * gap), np.float32)]
                if not joined:
                    passages.append(Passage(style, t, t + len(audio) / 16000))
                t += len(audio) / 16000 + gap
            if joined:
                passages.append(Passage(style, start, t - pause_s))
    return np.concatenate(parts), passages


def encode(samples: np.ndarray, container: str = "wav", rate: int = 16000, channels: int = 1) -> bytes:
    """16 kHz float samples -> a file of the given container (its usual codec), resampled to
    ``rate`` and copied to ``channels``."""
    codec = FORMATS[container]
    if codec == "libopus":
        rate = 48000  # what Opus runs at
    if rate != 16000:
        samples = np.interp(np.arange(0, len(samples), 16000 / rate), np.arange(len(samples)), samples)
    layout = "mono" if channels == 1 else "stereo"
    buf = io.BytesIO()
    with av.open(buf, "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.layout = layout
        stream.format = "s16p" if codec in ("libmp3lame",) else stream.format
        fmt = stream.codec_context.format
        data = np.clip(np.tile(samples, (channels, 1)), -1, 1)
        pcm = (data * 32767).astype(np.int16) if fmt.name.startswith("s16") else data.astype(np.float32)
        step = 960
        for i in range(0, pcm.shape[1], step):
            chunk = pcm[:, i : i + step]
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(chunk if fmt.is_planar else chunk.T.reshape(1, -1)), format=fmt.name, layout=layout
            )
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()
