"""Offline analysis: the live pipeline on an image or a video file, as message records."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator, Literal

import cv2
import numpy as np

from avatar_mapping.features import FaceFeatures
from avatar_mapping.voice import VoiceFeatures

from .animate import AnimateError, VoiceTimeline
from .emitter import FrameEmitter, Outgoing
from .inference.face import FaceTracker, FaceTrackerOptions
from .inference.frame import Frame
from .models.store import ModelStore
from .rig_store import RigStore
from .settings import Settings
from .speech_service import SpeechService
from .strategy_registry import StrategyRegistry

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}
AUDIO_SUFFIXES = {".wav"}


class AnalyzeError(RuntimeError):
    pass


@dataclass(frozen=True)
class AnalyzeOptions:
    input: Path
    rig: str = "arkit52"
    strategy: str = "direct"
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
    voice = _voice(wav, options.transcript, store, settings) if wav is not None else None
    if wav is options.input:
        emitter = FrameEmitter(options.session_id, rig, emotion_rate_hz=1e9, strategy=strategy)
        yield from _audio_only(voice, emitter, options.rate_hz or 60.0)
        return
    is_image = options.input.suffix.lower() in IMAGE_SUFFIXES
    # One emotion_update per output frame.
    emitter = FrameEmitter(options.session_id, rig, emotion_rate_hz=1e9, strategy=strategy)
    tracker_options = _tracker_options(store, settings, "image" if is_image else "video", options.mirror)
    with FaceTracker(tracker_options) as tracker:
        if is_image:
            features = tracker.process(_read_image(options.input))
            # A still has no motion: map it with the filter settled on the measured face.
            yield from emitter.tick(features, 0.0, 0.0, 0, voice.at(0.0) if voice else None)
            return
        yield from _video(options, tracker, emitter, voice)


def _voice(wav: Path, transcript: str | None, store: ModelStore, settings: Settings) -> VoiceTimeline:
    if not wav.is_file():
        raise AnalyzeError(f"no such file: {wav}")
    speech = SpeechService.from_settings(settings)
    speech.load()
    try:
        return VoiceTimeline(wav.read_bytes(), transcript, store.require("silero_vad"), speech.recognize_blocking)
    except AnimateError as e:
        raise AnalyzeError(f"{wav}: {e}") from None
    finally:
        speech.close()


def _audio_only(voice: VoiceTimeline, emitter: FrameEmitter, rate_hz: float) -> Iterator[Outgoing]:
    """A recorded line without video: the mouth from the voice, the face at rest."""
    face = FaceFeatures.absent(0)
    n = int(np.ceil(voice.duration_ms * rate_hz / 1000.0))
    for k in range(n):
        t_ms = k * 1000.0 / rate_hz
        yield from emitter.tick(face, 1.0 / rate_hz, 0.0, int(round(t_ms)), voice.at(t_ms))


def _read_image(path: Path) -> Frame:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise AnalyzeError(f"{path} is not a readable image")
    return Frame(np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)), 0)


def _video_frames(path: Path) -> tuple[float, Iterator[Frame]]:
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
                yield Frame(np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)), int(round(index * 1000.0 / fps)))
                index += 1
        finally:
            cap.release()
        if index == 0:
            raise AnalyzeError(f"{path} has no readable frames")

    return fps, frames()


def _tracker_options(store: ModelStore, settings: Settings, mode: str, mirror: bool) -> FaceTrackerOptions:
    return FaceTrackerOptions(store.require("face_landmarker"), mode=mode, mirror=mirror,
                              emotion_model=store.optional(settings.face_emotion_model) if settings.face_emotion
                              else None)


def _video(options: AnalyzeOptions, tracker: FaceTracker, emitter: FrameEmitter,
           voice: VoiceTimeline | None = None) -> Iterator[Outgoing]:
    fps, frames = _video_frames(options.input)
    rate_hz = options.rate_hz or fps
    features = FaceFeatures.absent(0)
    tick = 0  # output tick k is at k * 1000 / rate_hz ms (integer count: no drift)

    def ticks_before(t_ms: float) -> Iterator[Outgoing]:
        nonlocal tick
        while tick * 1000.0 / rate_hz < t_ms - 1e-6:
            out_ms = tick * 1000.0 / rate_hz
            yield from emitter.tick(features, 1.0 / rate_hz, (out_ms - features.capture_ms) / 1000.0,
                                    int(round(out_ms)), voice.at(out_ms) if voice else None)
            tick += 1

    index = 0
    for frame in frames:
        # Every output tick before this frame is computed from what was known then.
        yield from ticks_before(index * 1000.0 / fps)
        index += 1
        features = tracker.process(frame)
    yield from ticks_before(index * 1000.0 / fps)


def record(options: AnalyzeOptions, settings: Settings, out_path: Path) -> int:
    """The feature stream of a video (and optional WAV) as a recording; returns the samples written."""
    from .recording import Recorder, new_header

    store = ModelStore(settings.models)
    voice = _voice(options.audio, options.transcript, store, settings) if options.audio is not None else None
    fps, frames = _video_frames(options.input)
    header = new_header(options.rig, options.strategy, {}, None, options.rate_hz or 60.0, f"video:{options.input.name}")
    recorder = Recorder(out_path.open("wb"), header)
    try:
        with FaceTracker(_tracker_options(store, settings, "video", options.mirror)) as tracker:
            for index, frame in enumerate(frames):
                t_ms = index * 1000.0 / fps
                recorder.write(t_ms, tracker.process(frame), voice.at(t_ms) if voice else VoiceFeatures.silent(int(t_ms)))
    finally:
        recorder.close()
    return recorder.items
