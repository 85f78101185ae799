"""JetStream key-value helpers shared by the stores: bucket opening, safe keys, key listing."""

from __future__ import annotations

import base64

from nats.aio.client import Client
from nats.js.errors import BucketNotFoundError
from nats.js.kv import KeyValue


async def bucket(client: Client, name: str, history: int = 1, ttl_s: float | None = None) -> KeyValue:
    """The bucket, created on first use (every process may be first; creating is idempotent)."""
    js = client.jetstream()
    try:
        return await js.key_value(name)
    except BucketNotFoundError:
        return await js.create_key_value(bucket=name, history=history, ttl=ttl_s)


def key_part(text: str) -> str:
    """Any text (a user id) as one KV key token: base64url without padding (A-Z a-z 0-9 - _)."""
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=") or "_"


def text_of(part: str) -> str:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode()


async def keys(kv: KeyValue, pattern: str = ">") -> list[str]:
    """The live keys matching ``pattern`` (NATS wildcards), from the server's own filter."""
    watcher = await kv.watch(pattern, ignore_deletes=True, meta_only=True)
    found: list[str] = []
    try:
        async for entry in watcher:
            if entry is None:  # the end of what is stored now
                break
            found.append(entry.key)
    finally:
        await watcher.stop()  # type: ignore[no-untyped-call]  # nats-py leaves KeyWatcher.stop unannotated
    return found
