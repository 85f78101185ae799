"""The cluster's JetStream buckets exist before any store or directory opens them.

Workers create them; an edge only waits for them. deploy/nats.conf lets the worker user alone
add (or update) streams, and only these four: the edge is the process that faces the
Internet, so its credential must never be able to add a stream that would persist what
crosses the relay (camera frames, welcomes with their resume tokens). The key-value buckets
answer direct gets by key, so an edge reads the session directory one key at a time and
cannot list it (deploy/nats.conf allows it `$JS.API.DIRECT.GET.KV_avatar_sessions.$KV.…`
only, never a get by sequence number).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging

from nats.aio.client import Client
from nats.js.errors import BucketNotFoundError, NotFoundError

from .buckets import bucket
from .subjects import BUCKET_CALIBRATION, BUCKET_SESSIONS, BUCKET_VOTES, OBJECTS_RIGS

log = logging.getLogger(__name__)
STREAMS = tuple(f"KV_{b}" for b in (BUCKET_CALIBRATION, BUCKET_VOTES, BUCKET_SESSIONS)) + (f"OBJ_{OBJECTS_RIGS}",)
_LOG_EVERY_S = 5.0


async def create_buckets(client: Client, directory_ttl_s: float) -> None:
    """Every bucket, created where missing, as the stores open them (buckets.py: erasable)
    — a worker; several may race: the same stream with the same configuration is idempotent."""
    await bucket(client, BUCKET_CALIBRATION)
    await bucket(client, BUCKET_VOTES)
    await bucket(client, BUCKET_SESSIONS, ttl_s=directory_ttl_s)
    js = client.jetstream()
    info = await js.stream_info(f"KV_{BUCKET_SESSIONS}")
    if not info.config.allow_direct:  # made by an earlier version: edges may only read it by key
        await js.update_stream(dataclasses.replace(info.config, allow_direct=True))
    try:
        await js.object_store(OBJECTS_RIGS)
    except BucketNotFoundError:
        await js.create_object_store(OBJECTS_RIGS)


async def missing_buckets(client: Client) -> list[str]:
    """The buckets' streams that do not exist (yet)."""
    js = client.jetstream()
    missing = []
    for stream in STREAMS:
        try:
            await js.stream_info(stream)
        except NotFoundError:
            missing.append(stream)
    return missing


async def wait_for_buckets(client: Client, wait_s: float, poll_s: float = 0.25) -> None:
    """Until every bucket exists (an edge: a worker creates them); RuntimeError after ``wait_s``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    logged = loop.time()
    while missing := await missing_buckets(client):
        if loop.time() > deadline:
            raise RuntimeError(f"no worker created the cluster's buckets {missing} within {wait_s:g} s: start a worker")
        if loop.time() - logged > _LOG_EVERY_S:
            logged = loop.time()
            log.warning("waiting for a worker to create the cluster's buckets %s", missing)
        await asyncio.sleep(poll_s)
