"""Uploaded rigs in a JetStream object store: the cluster's `RigMirror` (server/assets/
rig_store.py). An avatar uploaded through any edge is a rig every worker can run.

The layout is the NATS object store's (a meta message per name on `$O.<bucket>.M.<name>`, the
document in chunks on `$O.<bucket>.C.<nuid>`), so `nats object` tools read it; it is read and
written here with plain message requests rather than nats-py's `ObjectStore`, whose reads open
a consumer per call and whose replace and delete purge old chunks, leaving their bytes on the
server's disk. Here a replaced or deleted rig's old messages are erased (buckets.py), and a
reader that meets a rig being replaced just reads it again.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from datetime import UTC, datetime
from typing import Any

from nats.aio.client import Client
from nats.js import api
from nats.js.client import JetStreamContext
from nats.js.errors import BucketNotFoundError

from .buckets import call, erase, messages, subjects
from .link import SyncLink
from .subjects import OBJECTS_RIGS

_STREAM = f"OBJ_{OBJECTS_RIGS}"
_META = f"$O.{OBJECTS_RIGS}.M."
_CHUNKS = f"$O.{OBJECTS_RIGS}.C."
_CHUNK_BYTES = 128 * 1024
_READ_ATTEMPTS = 3


async def _objects(client: Client) -> None:
    js = client.jetstream()
    try:
        await js.object_store(OBJECTS_RIGS)
    except BucketNotFoundError:
        await js.create_object_store(OBJECTS_RIGS)


def _meta_subject(rig_id: str) -> str:
    return _META + base64.urlsafe_b64encode(rig_id.encode()).decode()


class ObjectStoreRigs:
    def __init__(self, link: SyncLink):
        self._link = link
        call(link, _objects)
        self._js: JetStreamContext = link.client.jetstream()

    def put(self, rig_id: str, document: dict[str, Any]) -> None:
        data = json.dumps(document).encode()

        async def put(_: Client) -> None:
            old = await messages(self._js, _STREAM, _meta_subject(rig_id))
            nuid = secrets.token_hex(11)
            for start in range(0, max(len(data), 1), _CHUNK_BYTES):
                await self._js.publish(_CHUNKS + nuid, data[start : start + _CHUNK_BYTES], stream=_STREAM)
            meta = {
                "name": rig_id,
                "bucket": OBJECTS_RIGS,
                "nuid": nuid,
                "size": len(data),
                "chunks": -(-len(data) // _CHUNK_BYTES),
                "digest": "SHA-256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode(),
                "mtime": datetime.now(UTC).isoformat(),
            }
            await self._js.publish(_meta_subject(rig_id), json.dumps(meta).encode(), stream=_STREAM)
            await self._erase(old)  # the replaced version, after the new one is readable

        call(self._link, put)

    def get(self, rig_id: str) -> dict[str, Any] | None:
        return call(self._link, lambda _: self._read(rig_id))

    def delete(self, rig_id: str) -> bool:
        async def delete(_: Client) -> bool:
            old = await messages(self._js, _STREAM, _meta_subject(rig_id))
            if not old or _info(old[-1]) is None:
                return False
            await self._erase(old)
            return True

        return call(self._link, delete)

    def documents(self) -> dict[str, dict[str, Any]]:
        async def documents(_: Client) -> dict[str, dict[str, Any]]:
            found: dict[str, dict[str, Any]] = {}
            for subject in await subjects(self._js, _STREAM, _META + "*"):
                rig_id = base64.urlsafe_b64decode(subject[len(_META) :]).decode()
                document = await self._read(rig_id)
                if document is not None:
                    found[rig_id] = document
            return found

        return call(self._link, documents)

    async def _read(self, rig_id: str) -> dict[str, Any] | None:
        for _attempt in range(_READ_ATTEMPTS):
            metas = await messages(self._js, _STREAM, _meta_subject(rig_id))
            info = _info(metas[-1]) if metas else None
            if info is None:
                return None
            chunks = await messages(self._js, _STREAM, _CHUNKS + info["nuid"])
            data = b"".join(c.data or b"" for c in chunks)
            if len(data) == info.get("size"):
                document: dict[str, Any] = json.loads(data)
                return document
            # replaced or deleted while it was read: read what is there now
        return None

    async def _erase(self, found: list[api.RawStreamMsg]) -> None:
        """Erases meta messages and the chunks each of them names."""
        for meta in found:
            info = _info(meta)
            if info is not None:
                for chunk in await messages(self._js, _STREAM, _CHUNKS + info["nuid"]):
                    await erase(self._js, _STREAM, chunk)
            await erase(self._js, _STREAM, meta)


def _info(meta: api.RawStreamMsg) -> dict[str, Any] | None:
    """The object's description in its meta message; None for a deleted object's."""
    try:
        info = json.loads(meta.data or b"null")
    except ValueError:
        return None
    if not isinstance(info, dict) or info.get("deleted") or not isinstance(info.get("nuid"), str):
        return None
    return info
