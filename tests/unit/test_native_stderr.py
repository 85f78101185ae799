"""MediaPipe's native start-up lines reach the log, not the user's terminal."""

import logging
import os
from pathlib import Path

import pytest

from server.inference.face import FaceTracker, FaceTrackerOptions
from server.inference.native_stderr import native_stderr_to_log


def _native_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(("W0000", "I0000", "INFO: Created"))]


def test_building_a_real_face_tracker_keeps_stderr_clean_and_logs_the_lines(
    model_path: Path, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="avatar_driver.native")
    for _ in range(2):  # the second landmarker of a process is as quiet as the first
        FaceTracker(FaceTrackerOptions(model_path, mode="video")).close()
    assert _native_lines(capfd.readouterr().err) == []
    assert any(
        "face_landmarker_graph" in r.getMessage() or "XNNPACK" in r.getMessage()
        for r in caplog.records
        if r.name == "avatar_driver.native"
    )


def test_other_messages_and_native_errors_are_not_swallowed(
    capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="avatar_driver.native")
    with native_stderr_to_log():
        os.write(2, b"W0000 00:00:1.0 1 graph.cc:1] chatter\n")
        os.write(2, b"E0000 00:00:1.0 1 graph.cc:2] a real failure\n")
        os.write(2, b"another thread's traceback\n")
    err = capfd.readouterr().err
    assert "chatter" not in err and "a real failure" not in err
    assert "another thread's traceback" in err
    levels = {r.getMessage().split("] ")[-1]: r.levelno for r in caplog.records if r.name == "avatar_driver.native"}
    assert levels == {"chatter": logging.DEBUG, "a real failure": logging.WARNING}


def test_the_setting_shows_native_lines(capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AVATAR_DRIVER_NATIVE_LOGS", "1")
    with native_stderr_to_log():
        os.write(2, b"W0000 00:00:1.0 1 graph.cc:1] chatter\n")
    assert "chatter" in capfd.readouterr().err


def test_an_error_inside_the_block_restores_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(RuntimeError), native_stderr_to_log():
        raise RuntimeError("boom")
    os.write(2, b"after\n")
    assert "after" in capfd.readouterr().err
