"""Who may connect: origins and the token."""

from server.access import origin_allowed, token_ok


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
