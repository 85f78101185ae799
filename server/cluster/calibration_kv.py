"""Calibration tables in a JetStream key-value bucket: the cluster's `CalibrationStore`.

The same interface and semantics as server/stores/calibration.py (SQLite, the embedded default), and
the same tests (tests/integration/test_stores_contract.py): every version kept, numbered per user,
reverting stores an old version again as the newest, deleting erases every version.

One key per version, `<user>.<version>` (the user id base64url-encoded, so any id is a key);
a new version is `create`d, which fails when another edge or worker took that number first,
and is then retried with the next — versions stay gapless and unique across machines.
Deleting erases every message of the user's keys (buckets.py: overwritten on the server's
disk, not only purged). Nothing here opens a consumer, and an unreachable NATS is
`StoreUnavailable` (REST: 503), never a missing table.
"""

from __future__ import annotations

import json
import time
from typing import Any

from nats.aio.client import Client
from nats.js.errors import KeyDeletedError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from calibration.table import CalibrationTable

from .buckets import bucket, call, erase_subjects, key_part, keys, prefix_of, stream_of
from .link import SyncLink
from .subjects import BUCKET_CALIBRATION

_CREATE_ATTEMPTS = 8


class JetStreamCalibrationStore:
    def __init__(self, link: SyncLink):
        self._link = link
        self._kv: KeyValue = call(link, lambda c: bucket(c, BUCKET_CALIBRATION))
        self._js = link.client.jetstream()

    def put(self, table: CalibrationTable) -> int:
        return self._insert(table.user_id, json.dumps(table.to_dict(), allow_nan=False))

    def revert(self, user_id: str, version: int) -> int | None:
        entry = call(self._link, lambda c: self._entry(user_id, version))
        return self._insert(user_id, entry["data"]) if entry is not None else None

    def _insert(self, user_id: str, data: str) -> int:
        async def insert(_: Client) -> int:
            for _attempt in range(_CREATE_ATTEMPTS):
                version = max(await self._versions(user_id), default=0) + 1
                value = json.dumps({"saved_ms": int(time.time() * 1000), "data": data}).encode()
                try:
                    await self._kv.create(f"{key_part(user_id)}.{version}", value)
                    return version
                except KeyWrongLastSequenceError:
                    continue  # another process stored this version first
            raise RuntimeError(f"could not store a calibration version for {user_id!r}: too much contention")

        return call(self._link, insert)

    def get(self, user_id: str, version: int | None = None) -> CalibrationTable | None:
        async def get(_: Client) -> dict[str, Any] | None:
            wanted = version if version is not None else max(await self._versions(user_id), default=None)
            return await self._entry(user_id, wanted) if wanted is not None else None

        entry = call(self._link, get)
        return CalibrationTable.from_dict(json.loads(entry["data"]), user_id) if entry else None

    def history(self, user_id: str) -> list[dict[str, int]]:
        async def history(_: Client) -> list[dict[str, int]]:
            found = []
            for v in sorted(await self._versions(user_id)):
                entry = await self._entry(user_id, v)
                if entry is not None:
                    found.append({"version": v, "saved_ms": entry["saved_ms"]})
            return found

        return call(self._link, history)

    def delete(self, user_id: str) -> int:
        async def delete(_: Client) -> int:
            stored = [v for v in await self._versions(user_id) if await self._entry(user_id, v) is not None]
            pattern = f"{prefix_of(BUCKET_CALIBRATION)}{key_part(user_id)}.*"
            await erase_subjects(self._js, stream_of(BUCKET_CALIBRATION), pattern)  # and any old purge markers
            return len(stored)

        return call(self._link, delete)

    def close(self) -> None:
        pass  # the link is the caller's

    async def _versions(self, user_id: str) -> list[int]:
        found = await keys(self._js, BUCKET_CALIBRATION, f"{key_part(user_id)}.*")
        return [int(k.rsplit(".", 1)[1]) for k in found]

    async def _entry(self, user_id: str, version: int) -> dict[str, Any] | None:
        try:
            entry = await self._kv.get(f"{key_part(user_id)}.{version}")
        except (KeyNotFoundError, KeyDeletedError):
            return None
        return json.loads(entry.value) if entry.value else None
