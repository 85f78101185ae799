"""Who may connect: browser origins and the shared token. Every door (WebSocket, REST, later
WebRTC) asks here."""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1"}


def origin_allowed(origin: str | None, allowed: str) -> bool:
    """No Origin (native client): allowed. Otherwise the allow-list, or localhost by default."""
    if origin is None:
        return True
    entries = [o.strip().rstrip("/") for o in allowed.split(",") if o.strip()]
    if "*" in entries:
        return True
    if entries:
        return origin.rstrip("/") in entries
    return (urlsplit(origin).hostname or "") in LOCAL_HOSTS


def token_ok(expected: str | None, given: str | None) -> bool:
    """No token configured: anyone; else the same token, compared in constant time."""
    return expected is None or (given is not None and hmac.compare_digest(expected.encode(), given.encode()))
