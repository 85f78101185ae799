"""Speech-emotion reports of long recordings: memory stays bounded, time grows with length.

Makes MP3 recordings of SHORT and LONG minutes (espeak-ng's calm and excited passages
repeated, encoded block by block), then analyses each in a fresh process (the same code as
`avatar-driver analyze FILE --emotion-report`) and reads that process's peak resident
memory. The short file is the baseline measured in the same run: a bounded analysis has a
peak ratio near 1 however long the file. Then the same two files are uploaded to a real
server (`avatar-driver serve`, a fresh process) as chunked POST /v1/speech-emotion bodies,
and the server's peak resident memory (VmHWM) is read after each. Prints one JSON object;
not a test.

Usage: python bench/bench_speech_emotion.py [--short-min 3] [--long-min 30]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.recorded_audio import calm_and_excited


def write_mp3(path: Path, program: np.ndarray, minutes: float) -> None:
    """``program`` (16 kHz) repeated to ``minutes``, encoded as it goes (never held whole)."""
    total = int(minutes * 60 * 16000)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libmp3lame", rate=16000)
        stream.layout = "mono"
        written = 0
        while written < total:
            piece = program[: total - written]
            for i in range(0, len(piece), 1152):
                frame = av.AudioFrame.from_ndarray(
                    piece[None, i : i + 1152].astype(np.float32), format="fltp", layout="mono"
                )
                frame.sample_rate = 16000
                for packet in stream.encode(frame):
                    out.mux(packet)
            written += len(piece)
        for packet in stream.encode(None):
            out.mux(packet)


def measure(path: Path) -> dict[str, float]:
    """In this (fresh) process: analyse the file, report time and peak memory."""
    from server.inference.audio_file import AudioLimits
    from server.models.store import ModelStore
    from server.settings import Settings
    from server.tools.speech_emotion import ProsodyScorer, SpeechEmotionOptions, analyze_speech_emotion

    vad = ModelStore(Settings().models).require("silero_vad")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    report = analyze_speech_emotion(
        path, vad, ProsodyScorer(), SpeechEmotionOptions(limits=AudioLimits(max_seconds=1e6))
    )
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "audio_min": round(report.duration_s / 60, 2),
        "utterances": len(report.utterances),
        "seconds": round(seconds, 2),
        "times_real_time": round(report.duration_s / seconds, 1),
        "rss_before_mb": round(before, 1),
        "rss_peak_mb": round(peak, 1),
        "rss_growth_mb": round(peak - before, 1),
        "file_mb": round(path.stat().st_size / 1e6, 1),
    }


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def through_the_server(files: dict[str, Path]) -> dict[str, Any]:
    """Upload each file, chunked (64 KiB), to a fresh server; its peak memory after each."""
    import requests

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "AVATAR_DRIVER_LOG_LEVEL": "warning",
        "AVATAR_DRIVER_SPEECH_EMOTION_MAX_SECONDS": "1e6",
        "AVATAR_DRIVER_DATA_DIR": tempfile.mkdtemp(),
    }
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "avatar-driver"), "serve", "--port", str(port)], env=env
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if requests.get(f"{url}/healthz", timeout=1).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        out: dict[str, Any] = {"server_rss_at_start_mb": round(peak_rss_mb(server.pid), 1)}
        for name, path in files.items():

            def chunks(path: Path = path) -> Iterator[bytes]:
                with path.open("rb") as f:
                    while block := f.read(64 * 1024):
                        yield block

            start = time.perf_counter()
            r = requests.post(f"{url}/v1/speech-emotion", data=chunks(), timeout=3600)
            r.raise_for_status()
            out[name] = {
                "seconds": round(time.perf_counter() - start, 2),
                "utterances": len(r.json()["utterances"]),
                "server_peak_rss_mb": round(peak_rss_mb(server.pid), 1),
            }
        return out
    finally:
        server.terminate()
        server.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short-min", type=float, default=3.0)
    parser.add_argument("--long-min", type=float, default=30.0)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return
    program, _ = calm_and_excited(rounds=2)
    runs, files = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, minutes in (("short", args.short_min), ("long", args.long_min)):
            path = files[name] = Path(tmp) / f"{name}.mp3"
            write_mp3(path, program, minutes)
            done = subprocess.run(
                [sys.executable, __file__, "--measure", str(path)], check=True, capture_output=True, text=True
            )
            runs[name] = json.loads(done.stdout.strip().splitlines()[-1])
        served = through_the_server(files)
    short, long = runs["short"], runs["long"]
    print(
        json.dumps(
            {
                "config": {"short_min": args.short_min, "long_min": args.long_min, "scorer": "prosody"},
                "short": short,
                "long": long,
                "ratio": {
                    "audio": round(long["audio_min"] / short["audio_min"], 2),
                    "rss_peak": round(long["rss_peak_mb"] / short["rss_peak_mb"], 3),
                    "rss_growth": round(long["rss_growth_mb"] / max(short["rss_growth_mb"], 0.1), 2),
                    "seconds": round(long["seconds"] / short["seconds"], 2),
                },
                "uploaded_to_a_server": served,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
