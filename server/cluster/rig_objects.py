"""Uploaded rigs in a JetStream object store: the cluster's `RigMirror` (server/assets/
rig_store.py). An avatar uploaded through any edge is a rig every worker can run."""

from __future__ import annotations

import json
from typing import Any

from nats.aio.client import Client
from nats.js.errors import BucketNotFoundError, NotFoundError, ObjectDeletedError, ObjectNotFoundError
from nats.js.object_store import ObjectStore

from .link import SyncLink
from .subjects import OBJECTS_RIGS


async def _objects(client: Client) -> ObjectStore:
    js = client.jetstream()
    try:
        return await js.object_store(OBJECTS_RIGS)
    except BucketNotFoundError:
        return await js.create_object_store(OBJECTS_RIGS)


class ObjectStoreRigs:
    def __init__(self, link: SyncLink):
        self._link = link
        self._store: ObjectStore = link.call(_objects)

    def put(self, rig_id: str, document: dict[str, Any]) -> None:
        self._link.call(lambda _: self._store.put(rig_id, json.dumps(document).encode()))

    def get(self, rig_id: str) -> dict[str, Any] | None:
        async def get(_: Client) -> dict[str, Any] | None:
            try:
                data = (await self._store.get(rig_id)).data
            except (ObjectNotFoundError, ObjectDeletedError):
                return None
            document: dict[str, Any] | None = json.loads(data) if data is not None else None
            return document

        return self._link.call(get)

    def delete(self, rig_id: str) -> bool:
        async def delete(_: Client) -> bool:
            try:
                await self._store.get_info(rig_id)
            except (ObjectNotFoundError, ObjectDeletedError):
                return False
            await self._store.delete(rig_id)
            return True

        return self._link.call(delete)

    def documents(self) -> dict[str, dict[str, Any]]:
        async def documents(_: Client) -> dict[str, dict[str, Any]]:
            try:
                infos = await self._store.list(ignore_deletes=True)
            except NotFoundError:  # an empty store
                return {}
            found: dict[str, dict[str, Any]] = {}
            for info in infos:
                try:
                    data = (await self._store.get(info.name)).data
                except (ObjectNotFoundError, ObjectDeletedError):
                    continue  # deleted meanwhile
                if data is not None:
                    found[info.name] = json.loads(data)
            return found

        return self._link.call(documents)
