"""The session directory: a JetStream key-value bucket, session id → `DirectoryEntry` (which
worker holds the session, through which edge, what a watcher's welcome says, the
configuration a reclaim restores). Its worker refreshes each record; the bucket's TTL forgets
the records of a worker that stopped."""

from __future__ import annotations

import logging

import nats.errors
from nats.aio.client import Client
from nats.js.errors import InvalidKeyError, KeyDeletedError, KeyNotFoundError
from nats.js.kv import KeyValue

from .buckets import bucket
from .relay import DirectoryEntry, RelayError
from .subjects import BUCKET_SESSIONS

log = logging.getLogger(__name__)


class SessionDirectory:
    def __init__(self, kv: KeyValue):
        self._kv = kv

    @classmethod
    async def open(cls, client: Client, ttl_s: float) -> SessionDirectory:
        return cls(await bucket(client, BUCKET_SESSIONS, ttl_s=ttl_s))

    async def get(self, session_id: str) -> DirectoryEntry | None:
        try:
            return DirectoryEntry.decode((await self._kv.get(session_id)).value)
        except (KeyNotFoundError, KeyDeletedError, InvalidKeyError, RelayError):
            return None  # InvalidKeyError: no session has an id that is not a key (a wildcard)

    async def put(self, session_id: str, entry: DirectoryEntry) -> None:
        try:
            await self._kv.put(session_id, entry.encode())
        except nats.errors.Error as e:  # the next refresh tries again
            log.warning("directory: could not record session %s: %s", session_id, e)

    async def delete(self, session_id: str, worker: str) -> None:
        """Forgets the session, unless another worker holds it now."""
        entry = await self.get(session_id)
        if entry is not None and entry.worker == worker:
            await self._kv.delete(session_id)
