"""`avatar-driver`'s arguments, without running a command: serve's options over the settings,
NATS named `--cluster` (the former `--bus` still works and warns)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from server.cli import apply_serve_arguments, build_parser
from server.settings import Settings


def serve(settings: Settings, *argv: str) -> str | None:
    return apply_serve_arguments(settings, build_parser().parse_args(["serve", *argv]))


def test_serve_options_override_the_environment(settings: Settings) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing here is deprecated
        assert (
            serve(settings, "--port", "9001", "--workers", "2", "--cluster", "nats://a:4222", "--role", "edge") is None
        )
    assert (settings.port, settings.inference_workers, settings.cluster, settings.role) == (
        9001,
        2,
        "nats://a:4222",
        "edge",
    )


def test_the_former_bus_option_still_names_the_cluster_and_warns(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.warns(FutureWarning, match="--bus is deprecated: use --cluster"):
        assert serve(settings, "--bus", "nats://old:4222") is None
    assert settings.cluster == "nats://old:4222"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--help"])
    offered = capsys.readouterr().out
    assert "--cluster" in offered and "--bus" not in offered


def test_a_negative_worker_count_is_refused(settings: Settings) -> None:
    assert serve(settings, "--workers", "-1") == "--workers must be 0 or more"


def test_former_environment_names_still_apply_and_warn(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AVATAR_DRIVER_BUS", "nats://env:4222")
    monkeypatch.setenv("AVATAR_DRIVER_FACE_WORKERS", "3")
    with pytest.warns(FutureWarning) as caught:
        s = Settings(data_dir=tmp_path)
    assert s.cluster == "nats://env:4222" and s.inference_workers == 3
    said = {str(w.message) for w in caught}
    assert "AVATAR_DRIVER_BUS is deprecated: use AVATAR_DRIVER_CLUSTER" in said
    assert "AVATAR_DRIVER_FACE_WORKERS is deprecated: use AVATAR_DRIVER_INFERENCE_WORKERS" in said


def test_every_command_and_analyze_option_is_explained(capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 25, item 9: `--help` left out `vmc`; `analyze --rig/--strategy` had no help."""
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    top = capsys.readouterr().out
    assert "ab, vmc, user" in top and "VMC receiver" in top
    with pytest.raises(SystemExit):
        build_parser().parse_args(["analyze", "--help"])
    analyze = " ".join(capsys.readouterr().out.split())
    assert "--rig RIG the avatar's rig id" in analyze
    assert "--strategy STRATEGY how features become" in analyze and "hybrid" in analyze
    assert "MP3" in analyze
