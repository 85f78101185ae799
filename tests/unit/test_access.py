"""Who may connect: origins and the token."""

import pytest

from server.access import may_watch, origin_allowed, token_ok
from server.settings import Settings


def test_origins() -> None:
    assert origin_allowed(None, "")  # a native client sends none
    assert origin_allowed("http://localhost:5173", "") and origin_allowed("http://127.0.0.1:8000", "")
    assert not origin_allowed("https://evil.example", "")
    assert origin_allowed("https://app.example.com/", "https://app.example.com, http://localhost:5173")
    assert not origin_allowed("http://localhost:5173", "https://app.example.com")
    assert origin_allowed("https://anything.example", "*")


def test_tokens() -> None:
    assert token_ok(None, None) and token_ok(None, "whatever")
    assert token_ok("s3cret", "s3cret")
    assert not token_ok("s3cret", None) and not token_ok("s3cret", "s3cre") and not token_ok("s3cret", "")


def test_an_empty_token_is_no_token_at_every_door(monkeypatch: pytest.MonkeyPatch) -> None:
    """deploy/compose.yaml once turned an unset token into "": REST (Bearer) was locked while a
    hello with `token: ""` was admitted. Empty is unset, for Settings and for every check."""
    monkeypatch.setenv("AVATAR_DRIVER_TOKEN", "")
    monkeypatch.setenv("AVATAR_DRIVER_WATCH_TOKEN", " ")
    from_env = Settings()
    assert from_env.token is None and from_env.watch_token is None
    assert Settings(token="", watch_token="").token is None
    assert Settings(token="s3cret").token == "s3cret"
    for expected in ("", None):  # a Settings built without validation (model_copy) agrees
        assert token_ok(expected, None) and token_ok(expected, "") and token_ok(expected, "anything")
        assert may_watch(expected, expected, None) and may_watch(expected, "", "anything")


def test_watching_with_an_empty_watch_token_still_needs_the_full_token() -> None:
    assert not may_watch("s3cret", "", None) and not may_watch("s3cret", "", "")
    assert not may_watch("s3cret", None, "guess") and may_watch("s3cret", "", "s3cret")
    assert may_watch("s3cret", "w4tch", "w4tch") and not may_watch(None, "w4tch", None)
