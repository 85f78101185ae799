"""Erasing a user on a cluster (`DELETE /v1/users/{id}` on an edge).

The edge erases what the cluster shares (calibration, votes, rigs in JetStream: erased for
real, server/cluster/buckets.py) through its stores, then asks every worker on `USER_ERASE`
(core NATS, not persisted) to erase what only it holds — the recordings in its data folder —
and to drop the user's table from its live sessions. Each worker answers with its id and its
count; the edge (`ClusterEraser`) waits until every worker it knows to be alive (from their
heartbeats) has answered, or `erase_timeout_s`. A live worker that did not answer is named in
the result, so the request answers 503 and the client erases again (erasing is idempotent).

The request is the user id's UTF-8; the answer a CBOR map {"worker": str, "recordings": int}.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Protocol

import cbor2
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from calibration.table import CalibrationTable

from ..stores.recordings import RecordingStore
from ..stores.users import WorkersErased
from .link import unsubscribe
from .subjects import USER_ERASE, WORKERS_ALIVE, process_of

log = logging.getLogger(__name__)
_MAX_USER_ID_BYTES = 4096
_MAX_ANSWERS = 1024  # answers held while the edge gathers them (more workers than this: not counted)


class _Sessions(Protocol):
    """The worker's live sessions (server/live/registry.py SessionRegistry)."""

    def apply_calibration(self, user_id: str, table: CalibrationTable | None) -> int: ...


class ErasureResponder:
    """A worker's side: every request erases the user's recordings in this worker's data folder
    and their table from its live sessions, and answers with how many recordings went."""

    def __init__(self, client: Client, worker_id: str, recordings: RecordingStore, sessions: _Sessions):
        self._client = client
        self.worker_id = worker_id
        self._recordings = recordings
        self._sessions = sessions
        self._sub: Subscription | None = None

    @classmethod
    async def start(
        cls, client: Client, worker_id: str, recordings: RecordingStore, sessions: _Sessions
    ) -> ErasureResponder:
        responder = cls(client, worker_id, recordings, sessions)
        responder._sub = await client.subscribe(USER_ERASE, cb=responder._on_request)
        return responder

    async def _on_request(self, msg: Msg) -> None:
        if not msg.reply or len(msg.data) > _MAX_USER_ID_BYTES:
            log.warning("erasure: a request without a reply subject or with an oversized user id dropped")
            return
        try:
            user_id = msg.data.decode()
        except UnicodeDecodeError:
            log.warning("erasure: a request whose user id is not UTF-8 dropped")
            return
        gone = await asyncio.to_thread(self._recordings.erase_user, user_id)
        self._sessions.apply_calibration(user_id, None)
        await msg.respond(cbor2.dumps({"worker": self.worker_id, "recordings": gone}))

    async def close(self) -> None:
        await unsubscribe(self._sub)
        self._sub = None


class ClusterEraser:
    """An edge's side: `await eraser(user_id)` asks every worker and gathers their answers.
    It follows the workers' heartbeats itself, so it knows whom to wait for."""

    def __init__(self, client: Client, timeout_s: float, worker_timeout_s: float):
        self._client = client
        self._timeout_s = timeout_s
        self._worker_timeout_s = worker_timeout_s
        self._seen: dict[str, float] = {}
        self._since = time.monotonic()
        self._sub: Subscription | None = None

    @classmethod
    async def start(cls, client: Client, timeout_s: float, worker_timeout_s: float) -> ClusterEraser:
        eraser = cls(client, timeout_s, worker_timeout_s)
        eraser._sub = await client.subscribe(WORKERS_ALIVE, cb=eraser._on_alive)
        return eraser

    async def _on_alive(self, msg: Msg) -> None:
        self._seen[process_of(msg.subject)] = time.monotonic()

    def alive(self) -> set[str]:
        now = time.monotonic()
        for gone in [w for w, at in self._seen.items() if now - at > self._worker_timeout_s]:
            del self._seen[gone]
        return set(self._seen)

    async def __call__(self, user_id: str) -> WorkersErased:
        young = self._worker_timeout_s - (time.monotonic() - self._since)
        if young > 0:  # every live worker has heartbeated once we have listened this long
            await asyncio.sleep(young)
        expected = self.alive()
        answers: asyncio.Queue[Msg] = asyncio.Queue(_MAX_ANSWERS)

        async def on_answer(msg: Msg) -> None:
            if not answers.full():
                answers.put_nowait(msg)

        inbox = self._client.new_inbox()
        sub = await self._client.subscribe(inbox, cb=on_answer)
        counts: dict[str, int] = {}
        try:
            await self._client.publish(USER_ERASE, user_id.encode(), reply=inbox)
            deadline = time.monotonic() + self._timeout_s
            while not expected <= counts.keys():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    answer = _answer(await asyncio.wait_for(answers.get(), left))
                except TimeoutError:
                    break
                if answer is not None:
                    counts[answer[0]] = answer[1]
        finally:
            await unsubscribe(sub)
        unanswered = tuple(sorted(expected - counts.keys()))
        if unanswered:
            log.warning("erasure of a user: live workers %s did not answer within %s s", unanswered, self._timeout_s)
        return WorkersErased(sum(counts.values()), len(counts), unanswered)

    async def close(self) -> None:
        await unsubscribe(self._sub)
        self._sub = None


def _answer(msg: Msg) -> tuple[str, int] | None:
    """A worker's answer as (worker, recordings); None (logged) for anything else."""
    try:
        answer: Any = cbor2.loads(msg.data)
    except (cbor2.CBORDecodeError, ValueError):
        answer = None
    if isinstance(answer, dict):
        worker, recordings = answer.get("worker"), answer.get("recordings")
        if isinstance(worker, str) and type(recordings) is int and recordings >= 0:
            return worker, recordings
    log.warning("erasure: an answer that is not a worker's count dropped")
    return None
