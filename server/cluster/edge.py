"""The edge role: terminates client transports and relays them to workers, and fans each
session's stream out to its local clients — the publisher and any watcher, whichever edge the
session's publisher came through.

A publisher's first message is claimed by a worker (`avatar.claim`, a queue group); after
that its messages go to the connection's `in` subject, and the worker's replies come back on
its `out` subject. The stream arrives once per session and format (`avatar.session.<id>.
frame.<format>.<encoding>`) however many local clients share it. When the worker holding a
connection's session stops heartbeating, the edge claims the session again with its hello
and the sequence where it stood: another worker takes it over, the stream goes on.
A client whose edge was lost sends `resume` through another edge; the worker holding its
session (which kept running meanwhile) sends its replies there from then on, once it knows
the old edge is gone and the resume presented the server token the hello did (worker.py).
The edge checks a hello's server token itself too, and a session id before it becomes a
subject or a key (a watcher's `*` or `>` is an unknown session, 4404).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from ..access import token_ok
from ..live.connection_guard import ConnectionGuard, Refusal
from ..live.registry import WatchRefusal
from ..protocol import envelopes
from ..protocol.codec import Encoding, ProtocolError, decode
from ..protocol.constants import CloseCode, ErrorCode, MessageType
from ..protocol.envelopes import Outgoing
from ..protocol.messages import SESSION_NAME, Resume
from ..services import Services
from ..sinks.outbox import ClientChannel
from ..sinks.wire import Subscriber
from .directory import SessionDirectory
from .link import Background, options_for
from .link import unsubscribe as _unsubscribe
from .liveness import Heartbeat, LivenessWatch
from .relay import (
    CLOSE,
    NEXT_SEQUENCE,
    Claim,
    Claimed,
    Control,
    DirectoryEntry,
    Event,
    RelayError,
    as_client_message,
    as_relayed,
)
from .subjects import (
    CLAIM,
    WORKERS_ALIVE,
    connection_in,
    connection_out,
    edge_alive,
    frames,
    process_of,
    session_control,
    session_events,
    session_of,
)
from .worker import GONE
from .writer import ClusterWriter

log = logging.getLogger(__name__)
# A stream's messages waiting for this edge's fan-out: a few, so that an edge that falls
# behind drops stale frames (counted) instead of queueing seconds of them.
STREAM_PENDING = 8


@dataclass(eq=False)
class _Stream:
    """One session's stream on this edge: a NATS subscription per form, the local clients."""

    forms: dict[tuple[str, str], Subscription | None] = field(default_factory=dict)
    clients: list[Subscriber] = field(default_factory=list)
    events: Subscription | None = None
    next_sequence: int = 0
    paused_until: float | None = None
    published: set[tuple[str, str]] = field(default_factory=set)  # forms its worker confirmed
    entry: DirectoryEntry | None = None  # its directory record, as of its last start


class ClusterEdge:
    def __init__(self, services: Services, client: Client, writer: ClusterWriter, edge_id: str):
        self.services = services
        self.settings = services.settings
        self.client = client
        self.writer = writer
        self.id = edge_id
        self.connections: set[EdgeConnection] = set()
        self._streams: dict[str, _Stream] = {}
        self._workers = LivenessWatch(services.settings.worker_timeout_s, services.settings.heartbeat_s)
        self._heartbeat: Heartbeat | None = None
        self._numbers = itertools.count(1)
        self._tasks: list[asyncio.Task[None]] = []
        self.background = Background()
        self._alive: Subscription | None = None
        self.directory: SessionDirectory | None = None

    async def start(self) -> None:
        self.directory = await SessionDirectory.open(self.client, self.settings.directory_ttl_s)
        self._alive = await self.client.subscribe(WORKERS_ALIVE, cb=self._on_worker_alive)
        s = self.settings
        self._heartbeat = await asyncio.to_thread(
            Heartbeat, options_for(s, "heartbeat"), edge_alive(self.id), s.heartbeat_s
        )
        self._tasks = [asyncio.create_task(self._watch_workers(), name="edge-failover")]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self._heartbeat is not None:
            await asyncio.to_thread(self._heartbeat.close)
        for connection in tuple(self.connections):
            connection.end()
        if self._alive is not None:
            await _unsubscribe(self._alive)

    def open_connection(self, channel: ClientChannel) -> EdgeConnection:
        connection = EdgeConnection(self, channel, f"{self.id}-{next(self._numbers)}")
        self.connections.add(connection)
        return connection

    # -- streams, fanned out locally -------------------------------------------------------------
    async def add_client(self, session_id: str, subscriber: Subscriber) -> _Stream:
        stream = self._streams.get(session_id)
        if stream is None:
            stream = self._streams[session_id] = _Stream()
            stream.events = await self.client.subscribe(session_events(session_id), cb=self._on_event)
        stream.clients.append(subscriber)
        if subscriber.watcher is False:  # the publisher's own form is published from the start
            stream.published.add((subscriber.format, subscriber.encoding))
        form = (subscriber.format, subscriber.encoding)
        if form not in stream.forms:
            stream.forms[form] = None  # taken before awaiting: a concurrent caller does not subscribe again
            stream.forms[form] = await self.client.subscribe(
                frames(session_id, *form), cb=self._fan_out(stream, form), pending_msgs_limit=STREAM_PENDING
            )
        return stream

    async def remove_client(self, session_id: str, subscriber: Subscriber) -> None:
        stream = self._streams.get(session_id)
        if stream is None or subscriber not in stream.clients:
            return
        stream.clients.remove(subscriber)
        form = (subscriber.format, subscriber.encoding)
        if not any((c.format, c.encoding) == form for c in stream.clients):
            await _unsubscribe(stream.forms.pop(form, None))
        if not stream.clients:
            del self._streams[session_id]
            await _unsubscribe(stream.events)

    def _fan_out(self, stream: _Stream, form: tuple[str, str]) -> Callable[[Msg], Awaitable[None]]:
        async def fan_out(msg: Msg) -> None:
            data = msg.data.decode() if form[1] == "json" else msg.data  # decoded once for every client
            if msg.headers and NEXT_SEQUENCE in msg.headers:
                stream.next_sequence = int(msg.headers[NEXT_SEQUENCE])
            for client in stream.clients:
                if (client.format, client.encoding) == form:
                    client.channel.put_data(data)

        return fan_out

    async def want_stream(self, session_id: str, stream: _Stream, fmt: str, encoding: str) -> bool:
        """Asks the worker holding the session to publish its stream in this form too (once
        per form and edge, however many watchers want it)."""
        if (fmt, encoding) in stream.published:
            return True
        try:
            reply = await self.client.request(
                session_control(session_id),
                Control("stream", fmt, encoding).encode(),
                timeout=self.settings.claim_timeout_s,
            )
            published = Claimed.decode(reply.data).session_id is not None
        except (TimeoutError, nats.errors.Error, RelayError):
            return False
        if published:
            stream.published.add((fmt, encoding))
        return published

    async def _on_event(self, msg: Msg) -> None:
        session_id = session_of(msg.subject)
        stream = self._streams.get(session_id)
        try:
            event = Event.decode(msg.data)
        except RelayError:
            return
        if stream is None:
            return
        watchers = [c for c in stream.clients if c.watcher]
        if event.kind == "started":  # a worker (again) runs the session: watchers get a welcome
            stream.paused_until = None
            stream.published.clear()
            entry = stream.entry = await self.entry(session_id)
            for fmt, encoding in {(c.format, c.encoding) for c in watchers}:
                await self.want_stream(session_id, stream, fmt, encoding)
            if entry is not None:
                for c in watchers:
                    welcome = envelopes.welcome_of(entry.welcome, watching_format=c.format)
                    c.channel.put_control(welcome.encoded("named", c.encoding))
        elif event.kind == "paused":
            linger = self.settings.watch_linger_s
            stream.paused_until = time.monotonic() + linger
            paused = envelopes.session_paused(event.reason or "ended", linger, session_id)
            for c in watchers:
                c.channel.put_control(paused.encoded("named", c.encoding))
            asyncio.get_running_loop().call_later(linger + 0.05, self._expire, session_id)
        elif event.kind == "ended":
            for c in watchers:
                c.channel.end()

    def _expire(self, session_id: str) -> None:
        stream = self._streams.get(session_id)
        if stream is not None and stream.paused_until is not None and stream.paused_until <= time.monotonic():
            for c in stream.clients:
                if c.watcher:
                    c.channel.end()

    async def entry(self, session_id: str) -> DirectoryEntry | None:
        return await self.directory.get(session_id) if self.directory is not None else None

    # -- watchers ----------------------------------------------------------------------------------
    async def watch(self, session_id: str, subscriber: Subscriber, wait: bool) -> Outgoing | WatchRefusal:
        """The first message for a watcher of a session held anywhere in the cluster, or why not."""
        if not SESSION_NAME.fullmatch(session_id):  # no session has it; as a subject or key it would be a wildcard
            return WatchRefusal.UNKNOWN_SESSION
        known = self._streams.get(session_id)
        entry = known.entry if known is not None and known.entry is not None else await self.entry(session_id)
        if entry is None and not wait:
            return WatchRefusal.UNKNOWN_SESSION
        if known is not None and sum(c.watcher for c in known.clients) >= self.settings.max_watchers_per_session:
            return WatchRefusal.TOO_MANY_WATCHERS
        subscriber.watcher = True
        self.services.metrics.watchers.inc()
        stream = await self.add_client(session_id, subscriber)
        stream.entry = stream.entry or entry
        if entry is None or not await self.want_stream(session_id, stream, subscriber.format, subscriber.encoding):
            return envelopes.session_paused("waiting", self.settings.watch_linger_s, session_id)
        return envelopes.welcome_of(entry.welcome, watching_format=subscriber.format)

    async def unwatch(self, session_id: str, subscriber: Subscriber) -> None:
        if session_id in self._streams and subscriber in self._streams[session_id].clients:
            self.services.metrics.watchers.dec()
        await self.remove_client(session_id, subscriber)

    # -- liveness -----------------------------------------------------------------------------------
    async def _on_worker_alive(self, msg: Msg) -> None:
        self._workers.seen(process_of(msg.subject), time.monotonic())

    def worker_bound(self, worker: str) -> None:
        """A connection's session is on this worker: watch it from now, heartbeat or not."""
        self._workers.watch(worker, time.monotonic())

    def next_sequence(self, session_id: str) -> int:
        stream = self._streams.get(session_id)
        return stream.next_sequence if stream is not None else 0

    async def _watch_workers(self) -> None:
        """Every session of a worker that stopped heartbeating is claimed again, all at once."""
        while True:
            await asyncio.sleep(self.settings.heartbeat_s)
            for worker in self._workers.lost(time.monotonic()):
                orphans = [c for c in self.connections if c.worker == worker]
                if orphans and await self._answers(worker, orphans[0]):
                    continue
                self._workers.forget(worker)
                if orphans:
                    log.warning("worker %s lost: reclaiming its %d sessions here", worker, len(orphans))
                    await asyncio.gather(*(c.reclaim() for c in orphans))

    async def _answers(self, worker: str, connection: EdgeConnection) -> bool:
        """Whether a worker whose heartbeats stopped coming still answers for a session (its
        heartbeats may be what was late). A dead worker's subscriptions are gone: NATS says
        "no responders" at once."""
        try:
            reply = await self.client.request(
                session_control(connection.session_id or ""),
                Control("ping").encode(),
                timeout=self.settings.worker_timeout_s / 2,
            )
            alive = Claimed.decode(reply.data).worker == worker
        except (TimeoutError, nats.errors.Error, RelayError):
            return False
        if alive:
            self._workers.seen(worker, time.monotonic())
        return alive


class EdgeConnection:
    """A publisher's connection on an edge: the transport's side of the SessionController
    interface (receive, wait_s, timed_out, close_code, stopped, end), relayed to a worker."""

    def __init__(self, edge: ClusterEdge, channel: ClientChannel, conn: str):
        self.edge = edge
        self.settings = edge.settings
        self.channel = channel
        self.conn = conn
        self.encoding: Encoding = "cbor"
        self.session_id: str | None = None
        self.worker: str | None = None
        self.close_code: CloseCode | None = None
        self.stopped = asyncio.Event()
        self._hello: bytes | str | None = None
        self._ended = False
        self._subscriber: Subscriber | None = None
        self._out: Subscription | None = None
        self.guard = ConnectionGuard(edge.services.live.limits)  # the controller's limits, kept here first

    @property
    def wait_s(self) -> float | None:
        return self.guard.wait_s(started=self.session_id is not None)

    def timed_out(self) -> None:
        if self.session_id is None and self.close_code is None:
            self._refuse(self.guard.hello_overdue())

    async def receive(self, data: bytes | str) -> None:
        """Relays the message to the session's worker, or (the first one) claims a worker. What
        is over the size or rate limits is refused here, before it costs the cluster anything."""
        if self.session_id is None:
            self.encoding = "json" if isinstance(data, str) else "cbor"
        try:
            self.guard.check(data)
            if self.session_id is not None:
                self.edge.writer.put(connection_in(self.conn), *as_relayed(data))
                return
            envelope, _ = decode(data)
            if envelope.type == MessageType.BYE:
                self._close(CloseCode.NORMAL)
            elif envelope.type == MessageType.RESUME:
                await self._resume(Resume.parse(envelope.payload), _server_token(envelope.payload))
            elif envelope.type == MessageType.HELLO:
                if not token_ok(self.settings.token, _server_token(envelope.payload)):
                    raise ProtocolError(ErrorCode.AUTH_FAILED, "hello has a missing or wrong token")
                await self._claim(data)
            else:
                raise ProtocolError(
                    ErrorCode.NO_HELLO, f"{envelope.type[:40]} before hello: send hello with consent first"
                )
        except ProtocolError as e:
            self._refuse(self.guard.refuse(e))

    async def _claim(self, hello: bytes | str, session_id: str | None = None, next_sequence: int = 0) -> bool:
        await self._listen()
        first, text = as_relayed(hello)
        claim = Claim(self.conn, self.edge.id, first, text is not None, session_id, next_sequence)
        try:
            reply = await self.edge.client.request(CLAIM, claim.encode(), timeout=self.settings.claim_timeout_s)
            claimed = Claimed.decode(reply.data)
        except nats.errors.NoRespondersError:
            raise ProtocolError(ErrorCode.SERVER_BUSY, "no worker has room for a session; try again later") from None
        except (TimeoutError, nats.errors.Error, RelayError) as e:
            raise ProtocolError(
                ErrorCode.SERVER_BUSY, f"no worker took the session ({type(e).__name__}); try again later"
            ) from None
        if claimed.session_id is None:
            if claimed.close_code is not None:
                self._close(CloseCode(claimed.close_code))
            return False
        self._hello = hello
        return await self._bind(claimed)

    async def _resume(self, request: Resume, server_token: str | None) -> None:
        await self._listen()
        control = Control(
            "resume", conn=self.conn, edge=self.edge.id, token=request.resume_token, server_token=server_token
        )
        try:
            reply = await self.edge.client.request(
                session_control(request.session_id), control.encode(), timeout=self.settings.claim_timeout_s
            )
            claimed = Claimed.decode(reply.data)
        except (TimeoutError, nats.errors.Error, RelayError):
            claimed = Claimed("")
        if claimed.session_id is None:
            raise ProtocolError(
                ErrorCode.RESUME_FAILED,
                f"session {request.session_id!r} cannot be resumed (it "
                "ended, or the token is wrong); send hello to start a new one",
            )
        await self._bind(claimed)

    async def _listen(self) -> None:
        if self._out is None:
            self._out = await self.edge.client.subscribe(
                connection_out(self.conn), cb=self._on_out, pending_msgs_limit=self.settings.cluster_pending_messages
            )

    async def _bind(self, claimed: Claimed) -> bool:
        """This connection's session is ``claimed``'s, from now on; False (and the worker is
        told) when the client left while the claim or resume was under way."""
        assert claimed.session_id is not None
        if self._ended:
            self.edge.writer.put(connection_in(self.conn), b"", {GONE: "1"})
            return False
        self.session_id, self.worker = claimed.session_id, claimed.worker
        self.edge.worker_bound(claimed.worker)
        if self._subscriber is None:
            self._subscriber = Subscriber(self.channel, claimed.format, claimed.encoding)
            await self.edge.add_client(claimed.session_id, self._subscriber)
        return True

    async def _on_out(self, msg: Msg) -> None:
        if msg.headers and CLOSE in msg.headers:
            try:
                self._close(CloseCode(int(msg.headers[CLOSE])))
            except ValueError:
                self._close(CloseCode.INTERNAL_ERROR)
            return
        self.channel.put_control(as_client_message(msg.data, msg.headers))

    async def reclaim(self) -> None:
        """The worker holding the session was lost: another one takes it, where it stood."""
        if self.session_id is None or self._hello is None:
            return
        self.worker = None
        try:
            if await self._claim(self._hello, self.session_id, self.edge.next_sequence(self.session_id)):
                return
        except ProtocolError as e:
            self._error(e.code, e.message)
        self._error(
            ErrorCode.INTERNAL_ERROR,
            "the session was lost with its worker and no other could take it; reconnect to start a new one",
        )
        self._close(CloseCode.INTERNAL_ERROR)

    def end(self) -> None:
        """The client is gone: its session ends (the worker is told, now or when a claim under
        way comes back), local streams are left."""
        if self._ended:
            return
        self._ended = True
        self.edge.connections.discard(self)
        if self.session_id is not None:
            self.edge.writer.put(connection_in(self.conn), b"", {GONE: "1"})
        self.edge.background.spawn(self._leave())

    async def _leave(self) -> None:
        if self._subscriber is not None and self.session_id is not None:
            await self.edge.remove_client(self.session_id, self._subscriber)
        await _unsubscribe(self._out)

    def _close(self, code: CloseCode) -> None:
        self.close_code = code
        self.stopped.set()

    def _refuse(self, refusal: Refusal) -> None:
        for error in refusal.errors:
            self._error(error.code, error.message)
        if refusal.close is not None:
            self._close(refusal.close)

    def _error(self, code: ErrorCode, text: str) -> None:
        self.edge.services.metrics.client_errors.labels(str(code)).inc()
        self.channel.put_control(envelopes.error(code, text, self.session_id).encoded("named", self.encoding))


def _server_token(payload: dict[str, Any]) -> str | None:
    """The server token a hello or resume presents. A hello's is checked here (`auth_failed`
    closes, as on one machine) and again by its worker; a resume's goes to the worker, which
    takes it only if it is the one the session's hello presented (else `resume_failed`, and
    the connection stays open for a hello)."""
    token = payload.get("token")
    return token if isinstance(token, str) else None
