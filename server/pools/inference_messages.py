"""What crosses the pipe between the server and an inference worker process (inference_pool.py).

The server sends requests (`TrackFrame`, `AnalyseChunk`: one answer each, matched by
`request_id`) and notices (`SetPrototypes`, `Release`: no answer), in order per worker, so a
session's prototype update takes effect from its next chunk. The worker answers `Answered`
with the job's result, or `Refused` with why not.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ..inference.face import FaceTrackerOptions
from ..inference.realtime_visemes import VisemePrototypes
from ..protocol.messages import AudioChunk, VideoFrame
from .inference_jobs import Analysed, Inferred, VoiceOptions


@dataclass(frozen=True)
class TrackFrame:
    """Decode and track a session's frame with its FaceTracker (built on its first frame)."""

    request_id: int
    session_id: str
    options: FaceTrackerOptions
    frame: VideoFrame


@dataclass(frozen=True)
class AnalyseChunk:
    """Analyse a session's audio chunk with its VoiceAnalyzer (built on its first chunk)."""

    request_id: int
    session_id: str
    options: VoiceOptions
    chunk: AudioChunk


@dataclass(frozen=True)
class SetPrototypes:
    """The session's viseme prototypes, from its next chunk on."""

    session_id: str
    prototypes: VisemePrototypes


@dataclass(frozen=True)
class Release:
    """The session ended: its models are closed."""

    session_id: str


Request = TrackFrame | AnalyseChunk
Notice = SetPrototypes | Release


@dataclass(frozen=True)
class Answered:
    request_id: int
    result: Inferred | Analysed


class Refusal(StrEnum):
    BAD_IMAGE = "bad_image"  # the frame could not be decoded: the client's fault
    FAILED = "failed"  # the model failed on it


@dataclass(frozen=True)
class Refused:
    request_id: int
    reason: Refusal
    message: str


Answer = Answered | Refused
