"""A/B votes in a JetStream key-value bucket: the cluster's `VoteStore` (server/stores/votes.py
is the embedded one; tests/integration/test_stores_contract.py holds both to the same behaviour).

The key is the trial id (base64url), `create`d so a trial gets one vote across machines; the
returned id is the entry's stream sequence, unique and increasing as SQLite's row id is.
Erasing a user's votes erases every message that names them (buckets.py: overwritten on the
server's disk), found by reading the stream without a consumer.
"""

from __future__ import annotations

import json
import time
from typing import Any

from nats.aio.client import Client
from nats.js.api import RawStreamMsg
from nats.js.errors import KeyDeletedError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from ..stores.votes import VoteError
from .buckets import bucket, call, erase, key_part, keys, messages, prefix_of, stream_of
from .link import SyncLink
from .subjects import BUCKET_VOTES

_SHOWN = ("trial_id", "strategy_a", "strategy_b", "chosen", "rating", "blind")


class JetStreamVoteStore:
    def __init__(self, link: SyncLink):
        self._link = link
        self._kv: KeyValue = call(link, lambda c: bucket(c, BUCKET_VOTES))
        self._js = link.client.jetstream()

    def add(self, vote: dict[str, Any]) -> int:
        value = json.dumps({**vote, "created_ms": int(time.time() * 1000)}).encode()

        async def add(_: Client) -> int:
            try:
                return await self._kv.create(key_part(vote["trial_id"]), value)
            except KeyWrongLastSequenceError:
                raise VoteError(f"trial {vote['trial_id']!r} already has a vote") from None

        return call(self._link, add)

    def all(self) -> list[dict[str, Any]]:
        votes = call(self._link, lambda _: self._keyed_votes()).values()
        return [{k: v[k] for k in _SHOWN} for _, v in sorted(votes, key=lambda item: item[0])]

    def erase_user(self, user_id: str) -> int:
        async def erase_theirs(_: Client) -> int:
            stream = stream_of(BUCKET_VOTES)
            theirs = [m for m in await messages(self._js, stream, f"{prefix_of(BUCKET_VOTES)}>") if _names(m, user_id)]
            for msg in theirs:
                await erase(self._js, stream, msg)
            return len({m.subject for m in theirs})

        return call(self._link, erase_theirs)

    def close(self) -> None:
        pass  # the link is the caller's

    async def _keyed_votes(self) -> dict[str, tuple[int, dict[str, Any]]]:
        found: dict[str, tuple[int, dict[str, Any]]] = {}
        for key in await keys(self._js, BUCKET_VOTES):
            try:
                entry = await self._kv.get(key)
            except (KeyNotFoundError, KeyDeletedError):
                continue  # erased meanwhile
            if entry.value is not None and entry.revision is not None:
                found[key] = (entry.revision, json.loads(entry.value))
        return found


def _names(msg: RawStreamMsg, user_id: str) -> bool:
    """Whether a stored vote is the user's (purge markers and other values are nobody's)."""
    try:
        vote = json.loads(msg.data or b"null")
    except ValueError:
        return False
    return isinstance(vote, dict) and vote.get("user_id") == user_id
