"""`avatar-driver rig inspect` as a user runs it, in its own process (the inspector itself:
tests/unit/test_rig_inspect.py)."""

import json
import subprocess
import sys
from pathlib import Path

from avatar_mapping.vocabulary import VISEMES


def test_cli_writes_the_rig(tmp_path: Path, avatars: Path) -> None:
    out = tmp_path / "rig.json"
    result = subprocess.run(
        [sys.executable, "-m", "server.cli", "rig", "inspect", str(avatars / "brunette-t.glb"), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "ARKit blendshapes: 52/52" in result.stdout and "visemes: 15/15" in result.stdout
    rig = json.loads(out.read_text())
    assert rig["id"] == "brunette-t" and len(rig["channels"]) == 66
    assert set(VISEMES) - {"sil"} <= {c["name"].removeprefix("viseme_") for c in rig["channels"]}
