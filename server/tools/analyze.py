"""Offline analysis: the live pipeline on an image or a video file, as message records."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

import cv2
import numpy as np

from avatar_mapping.features import FaceFeatures
from avatar_mapping.latest_inputs import InputSample
from avatar_mapping.mapper import MapperOptions
from avatar_mapping.rig import RigDefinition
from avatar_mapping.strategies import DEFAULT_STRATEGY, Strategy
from avatar_mapping.voice_features import VoiceFeatures

from ..assets.rig_store import RigStore
from ..assets.strategy_registry import StrategyRegistry
from ..inference.face import FaceTracker, FaceTrackerOptions
from ..inference.input_frame import Frame
from ..inference.speech_service import SpeechService
from ..live.output import AvatarOutput
from ..models.store import ModelStore
from ..protocol.envelopes import Outgoing
from ..settings import Settings
from ..sinks.wire import MessageSink
from .animate import AnimateError, VoiceTimeline, recognize_line

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}
AUDIO_SUFFIXES = {".wav"}


class AnalyzeError(RuntimeError):
    pass


@dataclass(frozen=True)
class AnalyzeOptions:
    input: Path
    rig: str = "arkit52"
    strategy: str = DEFAULT_STRATEGY
    encoding: Literal["jsonl", "cbor"] = "jsonl"
    rate_hz: float | None = None
    mirror: bool = False
    session_id: str = "offline"
    audio: Path | None = None  # a WAV to go with a video; or INPUT itself is a WAV
    transcript: str | None = None


def analyze(options: AnalyzeOptions, settings: Settings, out: BinaryIO) -> int:
    """Write one emotion_update and one avatar_frame per output frame; returns the frame count."""
    count = 0
    for message in analyze_messages(options, settings):
        if options.encoding == "jsonl":
            out.write(message.encoded("named", "json").encode() + b"\n")
        else:  # a CBOR sequence (RFC 8742)
            out.write(message.encoded("named", "cbor"))
        count += message.type == "avatar_frame"
    out.flush()
    return count


class _MessageList(MessageSink):
    def __init__(self) -> None:
        self.messages: list[Outgoing] = []

    def send(self, message: Outgoing) -> None:
        self.messages.append(message)


class Animator:
    """The live output (server/live/output.py) driven by a file's clock: each tick's messages,
    one emotion_update per avatar_frame."""

    def __init__(self, session_id: str, rig: RigDefinition, strategy: Strategy, emotion_inference: bool = True):
        self.output = AvatarOutput(
            session_id,
            rig,
            emotion_rate_hz=1e9,
            strategy=strategy,
            options=MapperOptions(emotion_inference=emotion_inference),
        )
        self._messages = _MessageList()
        self.output.add_sink(self._messages)
        self._silent = VoiceFeatures.silent(0)

    def tick(
        self, face: FaceFeatures, dt_s: float, age_s: float, t_ms: float, voice: VoiceFeatures | None = None
    ) -> list[Outgoing]:
        self.output.tick(InputSample(face, voice or self._silent, age_s), dt_s, t_ms / 1000.0, int(round(t_ms)))
        out, self._messages.messages = self._messages.messages, []
        return out


def analyze_messages(options: AnalyzeOptions, settings: Settings) -> Iterator[Outgoing]:
    if not options.input.is_file():
        raise AnalyzeError(f"no such file: {options.input}")
    rigs = RigStore.from_dir(settings.rigs_dir, settings.data_dir / "rigs")
    rig = rigs.get(options.rig)
    if rig is None:
        raise AnalyzeError(f"unknown rig {options.rig!r}; available: {rigs.ids()}")
    try:
        strategy = StrategyRegistry(settings.rigs_dir).make(options.strategy, rig)
    except ValueError as e:
        raise AnalyzeError(str(e)) from None
    store = ModelStore(settings.models)
    wav = options.input if options.input.suffix.lower() in AUDIO_SUFFIXES else options.audio
    voice = voice_timeline(wav, options.transcript, store, settings) if wav is not None else None
    animator = Animator(options.session_id, rig, strategy, settings.emotion_inference)
    if wav is options.input:
        assert voice is not None  # the input is the WAV, so its timeline was made
        yield from _audio_only(voice, animator, options.rate_hz or 60.0)
        return
    is_image = options.input.suffix.lower() in IMAGE_SUFFIXES
    tracker_options = tracker_options_for(store, settings, "image" if is_image else "video", options.mirror)
    with FaceTracker(tracker_options) as tracker:
        if is_image:
            features = tracker.process(_read_image(options.input))
            # A still has no motion: map it with the filter settled on the measured face.
            yield from animator.tick(features, 0.0, 0.0, 0, voice.at(0.0) if voice else None)
            return
        yield from _video(options, tracker, animator, voice)


def voice_timeline(wav: Path, transcript: str | None, store: ModelStore, settings: Settings) -> VoiceTimeline:
    if not wav.is_file():
        raise AnalyzeError(f"no such file: {wav}")
    speech = SpeechService.from_settings(settings)
    speech.load()
    try:
        data = wav.read_bytes()
        heard = recognize_line(data, speech.recognize_blocking)
        if heard is not None and not settings.emotion_inference:
            heard = heard.without_emotion()
        return VoiceTimeline(data, transcript, store.require("silero_vad"), heard)
    except AnimateError as e:
        raise AnalyzeError(f"{wav}: {e}") from None
    finally:
        speech.close()


def _audio_only(voice: VoiceTimeline, animator: Animator, rate_hz: float) -> Iterator[Outgoing]:
    """A recorded line without video: the mouth from the voice, the face at rest."""
    face = FaceFeatures.absent(0)
    n = int(np.ceil(voice.duration_ms * rate_hz / 1000.0))
    for k in range(n):
        t_ms = k * 1000.0 / rate_hz
        yield from animator.tick(face, 1.0 / rate_hz, 0.0, t_ms, voice.at(t_ms))


def _read_image(path: Path) -> Frame:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise AnalyzeError(f"{path} is not a readable image")
    return Frame(np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)), 0)


def video_frames(path: Path) -> tuple[float, Iterator[Frame]]:
    """The video's frame rate, and its frames with capture_ms from the frame index."""
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise AnalyzeError(f"{path} is not a readable video")
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0

    def frames() -> Iterator[Frame]:
        index = 0
        try:
            while True:
                ok, bgr = cap.read()
                if not ok:
                    break
                yield Frame(
                    np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)), int(round(index * 1000.0 / fps))
                )
                index += 1
        finally:
            cap.release()
        if index == 0:
            raise AnalyzeError(f"{path} has no readable frames")

    return fps, frames()


def tracker_options_for(
    store: ModelStore, settings: Settings, mode: Literal["video", "image"], mirror: bool
) -> FaceTrackerOptions:
    return FaceTrackerOptions(
        store.require("face_landmarker"),
        mode=mode,
        mirror=mirror,
        emotion_model=store.optional(settings.face_emotion_model)
        if settings.face_emotion and settings.emotion_inference
        else None,
        geometric_channels=settings.geometric_channels,
    )


def _video(
    options: AnalyzeOptions, tracker: FaceTracker, animator: Animator, voice: VoiceTimeline | None = None
) -> Iterator[Outgoing]:
    fps, frames = video_frames(options.input)
    rate_hz = options.rate_hz or fps
    features = FaceFeatures.absent(0)
    tick = 0  # output tick k is at k * 1000 / rate_hz ms (integer count: no drift)

    def ticks_before(t_ms: float) -> Iterator[Outgoing]:
        nonlocal tick
        while tick * 1000.0 / rate_hz < t_ms - 1e-6:
            out_ms = tick * 1000.0 / rate_hz
            yield from animator.tick(
                features,
                1.0 / rate_hz,
                (out_ms - features.capture_ms) / 1000.0,
                out_ms,
                voice.at(out_ms) if voice else None,
            )
            tick += 1

    index = 0
    for frame in frames:
        # Every output tick before this frame is computed from what was known then.
        yield from ticks_before(index * 1000.0 / fps)
        index += 1
        features = tracker.process(frame)
    yield from ticks_before(index * 1000.0 / fps)
