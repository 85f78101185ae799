"""onnxruntime sessions for the small per-frame models (VAD, face emotion): CUDA when
onnxruntime-gpu and a GPU are present, else CPU; one thread, since each call is tiny and
extra threads only add latency beside the session's other work. onnxruntime's telemetry
(ETW events on Windows builds) is turned off before any session exists."""

from __future__ import annotations

from pathlib import Path

import onnxruntime as ort

ort.disable_telemetry_events()


def providers() -> list[str]:
    available = ort.get_available_providers()
    return [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]


def small_model_session(model_path: Path) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    return ort.InferenceSession(str(model_path), so, providers=providers())
