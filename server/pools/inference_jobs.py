"""What a session's face and voice stages compute for one received item: on the stage's own
thread, or in the worker process of `inference_pool.py` the session is pinned to. The same
functions either way, so a session behaves the same with and without `serve --workers N`."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avatar_mapping.features import FaceFeatures

from ..inference.face import FaceTracker
from ..inference.input_frame import decode_image, frame_from_rgb
from ..inference.lookahead_visemes import LookaheadOptions, LookaheadVisemes
from ..inference.realtime_visemes import VisemePrototypes
from ..inference.speech_segments import SpeechSegmenter, SpeechWindow
from ..inference.voice_analyzer import VoiceAnalyzer
from ..protocol.bus import VoiceResult
from ..protocol.messages import AudioChunk, VideoFrame


@dataclass(frozen=True)
class Inferred:
    """One frame's face, and what decoding and tracking it took."""

    features: FaceFeatures
    decode_s: float
    inference_s: float


def infer_frame(tracker: FaceTracker, vf: VideoFrame, max_image_pixels: int) -> Inferred:
    """Decode and track one received frame."""
    t0 = time.perf_counter()
    if vf.image is not None:
        frame = decode_image(vf.image, vf.capture_ms, max_image_pixels)
    else:
        frame = frame_from_rgb(vf.rgb or b"", vf.width, vf.height, vf.capture_ms, max_image_pixels)
    t1 = time.perf_counter()
    features = tracker.process(frame)
    return Inferred(features, t1 - t0, time.perf_counter() - t1)


@dataclass(frozen=True)
class VoiceOptions:
    """What a session's VoiceAnalyzer is built with. ``segment_speech``: also cut speech
    windows for a recogniser; ``lookahead_delay_ms``: visemes from streamed phone recognition
    that far behind the audio; ``emotion_inference``: prosody arousal."""

    vad_model: Path
    prototypes: VisemePrototypes
    segment_speech: bool = False
    lookahead_delay_ms: float | None = None
    emotion_inference: bool = True


def new_voice_analyzer(options: VoiceOptions) -> VoiceAnalyzer:
    delay = options.lookahead_delay_ms
    analyzer = VoiceAnalyzer(
        options.vad_model,
        SpeechSegmenter() if options.segment_speech else None,
        LookaheadVisemes(LookaheadOptions(delay)) if delay else None,
        prosody=options.emotion_inference,
    )
    analyzer.visemes.set_prototypes(options.prototypes)
    return analyzer


@dataclass(frozen=True)
class Analysed:
    """One audio chunk's voice (None until the analyzer has a whole frame) and the speech
    windows it finished."""

    voice: VoiceResult | None
    windows: list[SpeechWindow]


def analyse_chunk(analyzer: VoiceAnalyzer, chunk: AudioChunk) -> Analysed:
    """One received audio chunk through the session's analyzer: its features with the 10 ms
    MFCC frames, and finished speech windows."""
    voice = analyzer.push(chunk.pcm, chunk.sample_rate_hz, chunk.capture_ms)
    frames = analyzer.last_frames
    result = None
    if voice is not None:
        result = VoiceResult(
            voice,
            np.array([f.mfcc for f in frames]).reshape(len(frames), -1),
            np.array([f.log_energy for f in frames], dtype=np.float64),
        )
    return Analysed(result, analyzer.take_windows())
