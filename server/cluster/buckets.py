"""JetStream helpers shared by the cluster's stores: bucket opening, safe keys, listing without
consumers, secure erasure, and an unreachable NATS told apart from a missing key.

No consumers. Listing a bucket's keys is a `STREAM.INFO` with a subject filter and reading a
subject's messages is `STREAM.MSG.GET` with `next_by_subj`: plain requests that leave nothing
behind on the server. (A KV watch per call left an ephemeral consumer for 5 minutes each;
~1,000 calls filled the stream and every calibration call failed — issue 24.)

Erasing, not deleting. A KV `purge`/`delete` adds a marker and drops the old messages from
the index, but their bytes stay in the stream's block files. `STREAM.MSG.DELETE` without
`no_erase` overwrites the message (subject, headers and payload) with random bytes in place;
tests/integration/test_cluster_erasure.py greps the store files to hold nats-server to that.
A stream created with `deny_delete` (every KV bucket nats-py creates) refuses it and cannot be
changed, so our buckets are created here without it; on an older bucket erasing falls back to
purging the subject (logged: its bytes stay until the block is compacted — recreate the bucket).
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import nats.errors
from nats.aio.client import Client
from nats.js import api
from nats.js.client import JetStreamContext
from nats.js.errors import APIError, NotFoundError, ServiceUnavailableError
from nats.js.kv import KeyValue

from ..stores.unavailable import StoreUnavailable
from .link import SyncLink

log = logging.getLogger(__name__)
T = TypeVar("T")

_NO_MESSAGE = 10037  # JetStream's "no message found"
_DELETE_DENIED = 10057  # "message delete not permitted" (a stream with deny_delete)

# What an unreachable, restarting or not yet recovered NATS raises. A missing stream counts:
# the bucket existed when the store opened it, so right after a restart it is not loaded yet.
UNREACHABLE: tuple[type[BaseException], ...] = (
    nats.errors.TimeoutError,
    nats.errors.NoRespondersError,
    nats.errors.ConnectionClosedError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.ConnectionDrainingError,
    nats.errors.StaleConnectionError,
    nats.errors.OutboundBufferLimitError,
    ServiceUnavailableError,
    NotFoundError,
    TimeoutError,
)


def call(link: SyncLink, make: Callable[[Client], Coroutine[Any, Any, T]], timeout_s: float | None = None) -> T:
    """``link.call``, with NATS being unreachable raised as `StoreUnavailable` (REST: 503).
    Missing keys must be caught inside ``make``: a `NotFoundError` that reaches here is a stream.
    While the link is reconnecting, at once rather than after a request's timeout."""
    if not link.client.is_connected:
        raise StoreUnavailable("NATS is not connected")
    try:
        return link.call(make, timeout_s)
    except UNREACHABLE as e:
        raise StoreUnavailable(f"NATS: {type(e).__name__} {e}".strip()) from e


def stream_of(name: str) -> str:
    return f"KV_{name}"


def prefix_of(name: str) -> str:
    return f"$KV.{name}."


async def bucket(client: Client, name: str, history: int = 1, ttl_s: float | None = None) -> KeyValue:
    """The bucket, created on first use (every process may be first; the same config twice is
    idempotent), as nats-py would create it but without `deny_delete`, so it can be erased."""
    js = client.jetstream()
    try:
        info = await js.stream_info(stream_of(name))
    except NotFoundError:
        window = min(120.0, ttl_s) if ttl_s else 120.0
        info = await js.add_stream(
            api.StreamConfig(
                name=stream_of(name),
                subjects=[f"{prefix_of(name)}>"],
                allow_direct=True,
                allow_rollup_hdrs=True,
                deny_delete=False,
                discard=api.DiscardPolicy.NEW,
                duplicate_window=window,
                max_age=ttl_s,
                max_consumers=-1,
                max_msgs=-1,
                max_msgs_per_subject=history,
            )
        )
    if info.config.deny_delete:
        log.warning("bucket %s denies deletes: erasing in it only purges (recreate it to erase for real)", name)
    return await js.key_value(name)


def key_part(text: str) -> str:
    """Any text (a user id) as one KV key token: base64url without padding (A-Z a-z 0-9 - _)."""
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=") or "_"


def text_of(part: str) -> str:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode()


async def subjects(js: JetStreamContext, stream: str, pattern: str) -> list[str]:
    """The subjects of ``stream`` matching ``pattern`` that hold a message now (no consumer)."""
    info = await js.stream_info(stream, subjects_filter=pattern)
    return sorted((info.state.subjects or {}).keys())


async def keys(js: JetStreamContext, name: str, pattern: str = ">") -> list[str]:
    """The keys of bucket ``name`` matching ``pattern`` (NATS wildcards) that hold a message:
    values, or the markers an older purge left (reading those finds no value)."""
    prefix = prefix_of(name)
    found = await subjects(js, stream_of(name), prefix + pattern)
    return [s[len(prefix) :] for s in found]


async def messages(js: JetStreamContext, stream: str, pattern: str) -> list[api.RawStreamMsg]:
    """Every message of ``stream`` on subjects matching ``pattern``, oldest first (no consumer)."""
    found: list[api.RawStreamMsg] = []
    seq = 1
    while True:
        try:
            msg = await js.get_msg(stream, seq=seq, subject=pattern, next=True)
        except APIError as e:
            if e.err_code == _NO_MESSAGE:
                return found
            raise
        if msg.seq is None:
            return found
        found.append(msg)
        seq = msg.seq + 1


async def erase(js: JetStreamContext, stream: str, msg: api.RawStreamMsg) -> None:
    """Overwrites one message on the server's disk (`STREAM.MSG.DELETE`, erasing)."""
    assert msg.seq is not None
    try:
        await js.delete_msg(stream, msg.seq)
    except APIError as e:
        if e.err_code != _DELETE_DENIED or msg.subject is None:
            raise
        log.warning("stream %s denies deletes: purging %s instead of erasing it", stream, msg.subject)
        await js.purge_stream(stream, subject=msg.subject)


async def erase_subjects(js: JetStreamContext, stream: str, pattern: str) -> int:
    """Erases every message on subjects matching ``pattern``; returns how many subjects held one."""
    found = await messages(js, stream, pattern)
    for msg in found:
        await erase(js, stream, msg)
    return len({m.subject for m in found})
