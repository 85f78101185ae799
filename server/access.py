"""Who may connect: browser origins and the tokens. Every door (WebSocket, REST, later WebRTC)
asks here; docs/security.md explains the model."""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1"}


def origin_allowed(origin: str | None, allowed: str) -> bool:
    """No Origin (native client): allowed. Otherwise the allow-list, or localhost by default.
    (Not "the Host the request names": a DNS-rebinding page would pass that.)"""
    if origin is None:
        return True
    entries = [o.strip().rstrip("/") for o in allowed.split(",") if o.strip()]
    if "*" in entries:
        return True
    if entries:
        return origin.rstrip("/") in entries
    return (urlsplit(origin).hostname or "") in LOCAL_HOSTS


def token_ok(expected: str | None, given: str | None) -> bool:
    """No token configured: anyone; else the same token, compared in constant time. An empty
    token is no token (Settings makes it None; this holds for a Settings built without validation)."""
    return not expected or (given is not None and hmac.compare_digest(expected.encode(), given.encode()))


def bearer(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header."""
    scheme, _, token = (authorization or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def may_watch(token: str | None, watch_token: str | None, given: str | None) -> bool:
    """Watching needs the full token or the watch-only one, once either is configured."""
    configured = [t for t in (token, watch_token) if t]
    return not configured or any(token_ok(t, given) for t in configured)
