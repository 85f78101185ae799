"""`avatar-driver record`: a video's (and a WAV's) feature stream as a recording for A/B
replays — the face tracked as the live face stage tracks it, the voice from the same
timeline as `analyze --audio`; never the media itself."""

from __future__ import annotations

from pathlib import Path

from avatar_mapping.voice_features import VoiceFeatures

from ..inference.face import FaceTracker
from ..models.store import ModelStore
from ..protocol.recording import Recorder, new_header
from ..settings import Settings
from .analyze import AnalyzeOptions, tracker_options_for, video_frames, voice_timeline


def record(options: AnalyzeOptions, settings: Settings, out_path: Path) -> int:
    """Writes the recording; returns the samples written."""
    store = ModelStore(settings.models)
    voice = voice_timeline(options.audio, options.transcript, store, settings) if options.audio is not None else None
    fps, frames = video_frames(options.input)
    header = new_header(options.rig, options.strategy, {}, None, options.rate_hz or 60.0, f"video:{options.input.name}")
    recorder = Recorder(out_path.open("wb"), header)
    try:
        with FaceTracker(tracker_options_for(store, settings, "video", options.mirror)) as tracker:
            for index, frame in enumerate(frames):
                t_ms = index * 1000.0 / fps
                heard = voice.at(t_ms) if voice else VoiceFeatures.silent(int(t_ms))
                recorder.write(t_ms, tracker.process(frame), heard)
    finally:
        recorder.close()
    return recorder.items
