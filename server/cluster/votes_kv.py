"""A/B votes in a JetStream key-value bucket: the cluster's `VoteStore` (server/stores/votes.py
is the embedded one; tests/integration/test_stores_contract.py holds both to the same behaviour).

The key is the trial id (base64url), `create`d so a trial gets one vote across machines; the
returned id is the entry's stream sequence, unique and increasing as SQLite's row id is.
"""

from __future__ import annotations

import json
import time
from typing import Any

from nats.aio.client import Client
from nats.js.errors import KeyDeletedError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from ..stores.votes import VoteError
from .buckets import bucket, key_part, keys
from .link import SyncLink
from .subjects import BUCKET_VOTES

_SHOWN = ("trial_id", "strategy_a", "strategy_b", "chosen", "rating", "blind")


class JetStreamVoteStore:
    def __init__(self, link: SyncLink):
        self._link = link
        self._kv: KeyValue = link.call(lambda c: bucket(c, BUCKET_VOTES))

    def add(self, vote: dict[str, Any]) -> int:
        value = json.dumps({**vote, "created_ms": int(time.time() * 1000)}).encode()

        async def add(_: Client) -> int:
            try:
                return await self._kv.create(key_part(vote["trial_id"]), value)
            except KeyWrongLastSequenceError:
                raise VoteError(f"trial {vote['trial_id']!r} already has a vote") from None

        return self._link.call(add)

    def all(self) -> list[dict[str, Any]]:
        votes = self._link.call(lambda _: self._keyed_votes()).values()
        return [{k: v[k] for k in _SHOWN} for _, v in sorted(votes, key=lambda item: item[0])]

    def erase_user(self, user_id: str) -> int:
        async def erase(_: Client) -> int:
            theirs = [key for key, (_, v) in (await self._keyed_votes()).items() if v.get("user_id") == user_id]
            for key in theirs:
                await self._kv.purge(key)
            return len(theirs)

        return self._link.call(erase)

    def close(self) -> None:
        pass  # the link is the caller's

    async def _keyed_votes(self) -> dict[str, tuple[int, dict[str, Any]]]:
        found: dict[str, tuple[int, dict[str, Any]]] = {}
        for key in await keys(self._kv):
            try:
                entry = await self._kv.get(key)
            except (KeyNotFoundError, KeyDeletedError):
                continue  # erased meanwhile
            if entry.value is not None and entry.revision is not None:
                found[key] = (entry.revision, json.loads(entry.value))
        return found
