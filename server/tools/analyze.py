"""Offline analysis: the live pipeline on an image, a video or recorded audio, as message records,
and a summary of what was found (``AnalyzeSummary``) for the person who ran it."""

from __future__ import annotations

import io
import wave
from collections.abc import Iterator
from dataclasses import dataclass, field
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
from ..inference.audio_file import AudioFileError, AudioLimits, decode_blocks
from ..inference.face import FaceTracker, FaceTrackerOptions
from ..inference.input_frame import Frame
from ..inference.speech_service import SpeechService
from ..live.output import AvatarOutput
from ..models.store import ModelStore
from ..protocol.envelopes import Outgoing
from ..settings import Settings
from ..sinks.wire import MessageSink
from .animate import AnimateError, VoiceTimeline, read_wav, recognize_line

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}
# Recorded audio: the voice path alone (decoded by FFmpeg, as `--emotion-report` reads it).
AUDIO_SUFFIXES = {".wav", ".mp3", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".wma", ".aif", ".aiff"}


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
    audio: Path | None = None  # recorded audio to go with a video; or INPUT itself is audio
    transcript: str | None = None


@dataclass
class AnalyzeSummary:
    """What an analysis found, filled in while its messages are made: for a line on the
    terminal, so that "no face anywhere" or "five people" is never silent."""

    kind: Literal["image", "video", "audio"] = "image"
    frames: int = 0  # input frames (an image: 1)
    frames_with_face: int = 0
    most_faces: int = 0  # the most faces seen in one frame (the largest is the one tracked)
    audio_s: float | None = None
    transcript: str | None = None
    transcript_source: str | None = None  # "given", "sensevoice" or None (phone recognition)
    notes: list[str] = field(default_factory=list)

    def see(self, faces: int, present: bool) -> None:
        self.frames += 1
        self.frames_with_face += present
        self.most_faces = max(self.most_faces, faces)

    def lines(self) -> list[str]:
        """What to tell the person: the summary, then any warning."""
        out = []
        if self.kind == "audio":
            said = f", heard {self.transcript!r} ({self.transcript_source})" if self.transcript else ""
            out.append(f"audio only (no face): {self.audio_s or 0.0:.1f} s of voice{said}")
        else:
            what = "image" if self.kind == "image" else f"video: {self.frames} frames"
            out.append(f"{what}, a face in {self.frames_with_face} of {self.frames}, faces_seen {self.most_faces}")
            if self.frames and not self.frames_with_face:
                out.append("warning: no face found in any frame; the avatar stays at rest")
            if self.most_faces > 1:
                out.append(
                    f"warning: up to {self.most_faces} faces in a frame: the largest drives the avatar "
                    "(one person is tracked at a time)"
                )
        if self.audio_s is not None and self.kind != "audio":
            out.append(f"with {self.audio_s:.1f} s of voice")
        return out + self.notes


def analyze(options: AnalyzeOptions, settings: Settings, out: BinaryIO, summary: AnalyzeSummary | None = None) -> int:
    """Write one emotion_update and one avatar_frame per output frame; returns the frame count."""
    count = 0
    for message in analyze_messages(options, settings, summary):
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


def analyze_messages(
    options: AnalyzeOptions, settings: Settings, summary: AnalyzeSummary | None = None
) -> Iterator[Outgoing]:
    summary = summary if summary is not None else AnalyzeSummary()
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
    audio = options.input if options.input.suffix.lower() in AUDIO_SUFFIXES else options.audio
    voice = voice_timeline(audio, options.transcript, store, settings) if audio is not None else None
    if voice is not None:
        summary.audio_s = voice.duration_ms / 1000.0
        summary.transcript, summary.transcript_source = voice.transcript, voice.transcript_source
    animator = Animator(options.session_id, rig, strategy, settings.emotion_inference)
    if audio is options.input:
        assert voice is not None  # the input is the audio, so its timeline was made
        summary.kind = "audio"
        yield from _audio_only(voice, animator, options.rate_hz or 60.0)
        return
    is_image = options.input.suffix.lower() in IMAGE_SUFFIXES
    tracker_options = tracker_options_for(store, settings, "image" if is_image else "video", options.mirror)
    with FaceTracker(tracker_options) as tracker:
        if is_image:
            features = tracker.process(_read_image(options.input))
            summary.see(features.faces_seen, features.present)
            # A still has no motion: map it with the filter settled on the measured face.
            yield from animator.tick(features, 0.0, 0.0, 0, voice.at(0.0) if voice else None)
            return
        summary.kind = "video"
        yield from _video(options, tracker, animator, voice, summary)


def voice_timeline(audio: Path, transcript: str | None, store: ModelStore, settings: Settings) -> VoiceTimeline:
    if not audio.is_file():
        raise AnalyzeError(f"no such file: {audio}")
    data = wav_of(audio, settings.speech_emotion_max_seconds)
    speech = SpeechService.from_settings(settings)
    speech.load()
    try:
        heard = recognize_line(data, speech.recognize_blocking)
        if heard is not None and not settings.emotion_inference:
            heard = heard.without_emotion()
        return VoiceTimeline(data, transcript, store.require("silero_vad"), heard)
    except AnimateError as e:
        raise AnalyzeError(f"{audio}: {e}") from None
    finally:
        speech.close()


def wav_of(audio: Path, max_seconds: float) -> bytes:
    """The recording as the 16-bit PCM WAV the voice timeline reads: a WAV of that kind as it
    is, any other recording (MP3, FLAC, OGG, a float WAV ...) decoded to 16 kHz mono."""
    if audio.suffix.lower() == ".wav":
        data = audio.read_bytes()
        try:
            read_wav(data, max_seconds)
            return data
        except AnimateError:
            pass  # another kind of WAV (float, 24-bit, an odd rate): FFmpeg reads it
    try:
        blocks = list(decode_blocks(audio, AudioLimits(max_seconds=max_seconds)))
    except AudioFileError as e:
        raise AnalyzeError(f"{audio} is not readable audio: {e}") from None
    if not blocks:
        raise AnalyzeError(f"{audio} has no audio samples")
    samples = np.concatenate(blocks)
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes((np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes())
    return out.getvalue()


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
        raise AnalyzeError(
            f"{path} is not a readable video (images: {', '.join(sorted(IMAGE_SUFFIXES))}; "
            f"audio: {', '.join(sorted(AUDIO_SUFFIXES))})"
        )
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


# Faces a recording or photo is searched for: the largest drives the avatar, all are counted.
ANALYZE_MAX_FACES = 5


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
        max_faces=ANALYZE_MAX_FACES,
    )


def _video(
    options: AnalyzeOptions,
    tracker: FaceTracker,
    animator: Animator,
    voice: VoiceTimeline | None = None,
    summary: AnalyzeSummary | None = None,
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
        if summary is not None:
            summary.see(features.faces_seen, features.present)
    yield from ticks_before(index * 1000.0 / fps)
