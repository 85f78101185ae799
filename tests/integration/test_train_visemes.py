"""The real-time viseme model's training script, run as a maintainer runs it, in a process of
its own: it reproduces the committed prototypes (its inputs are espeak-ng's voices and the
LibriVox recordings of pocketsphinx-testdata)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from server.inference.realtime_visemes import PROTOTYPES_PATH
from tests.support.paths import REPO


def test_the_committed_prototypes_are_what_the_script_trains(tmp_path: Path) -> None:
    """espeak-ng's audio also depends on what the library spoke before in the same process (a
    few ms of timing), so the script runs in a fresh process, as it did when the file was
    written; the means still only need to agree within a small tolerance."""
    out = tmp_path / "viseme_prototypes.json"
    done = subprocess.run(
        [sys.executable, "-m", "server.tools.train_visemes", str(out)], cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    committed, fresh = json.loads(PROTOTYPES_PATH.read_text()), json.loads(out.read_text())
    assert committed["visemes"] == fresh["visemes"]
    assert np.abs(np.array(committed["mean"]) - np.array(fresh["mean"])).max() < 0.6
