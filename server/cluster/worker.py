"""The worker role: claims sessions from the workers' queue group and runs them — inference,
mapping, the output clock — with the same SessionController as the embedded server. What the
client sends arrives on the connection's `in` subject from its edge; replies go back on its
`out` subject; the session's stream is published once per format (stream_channel.py).

The worker leaves the queue group while it has no room, so a claim goes to a worker that has.
It heartbeats (edges reclaim its sessions elsewhere when the heartbeat stops) and watches
the edges' heartbeats: the sessions of a lost edge keep running, without a client, for
`resume_window_s`, so the client can `resume` them through another edge; their watchers on
other edges see no gap. Its sessions are recorded in the directory bucket (who holds each,
what a watcher's welcome says, the configuration a reclaim restores); a worker that finds
one of its sessions recorded under another worker (it was taken for lost) lets it go.

A `resume` takes a session over only when it proves itself twice — the resume token of the
session's latest welcome (a new one in each) and the server token its hello presented (kept
here as an HMAC, compared in constant time) — and only once the session's edge is lost: while
that edge heartbeats, its client is still there and the resume is refused. Whoever held the
connection before is closed with 4409 should its edge come back. While a reclaimed session is
being rebuilt, what its client sends meanwhile is held (bounded) and replayed once the session
exists, never answered with `no_hello`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import cbor2
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from ..live.controller import Reclaim, SessionController
from ..live.session import Session
from ..live.session_config import SessionConfig
from ..protocol import envelopes
from ..protocol.codec import Encoding, as_encoding
from ..protocol.constants import CloseCode
from ..services import Services
from ..sinks.outbox import Message
from ..sinks.wire import Subscriber
from .buckets import bucket, text_of
from .directory import SessionDirectory
from .link import Background, options_for
from .link import unsubscribe as _unsubscribe
from .liveness import Heartbeat, LivenessWatch
from .relay import CLOSE, Claim, Claimed, Control, DirectoryEntry, Event, RelayError, as_client_message, as_relayed
from .stream_channel import ClusterStreamChannel
from .subjects import (
    BUCKET_CALIBRATION,
    CALIBRATION_CHANGED,
    CLAIM,
    EDGES_ALIVE,
    WORKER_QUEUE,
    connection_in,
    connection_out,
    frames,
    process_of,
    session_control,
    session_events,
    session_of,
    worker_alive,
)
from .writer import ClusterWriter

log = logging.getLogger(__name__)
HOUSEKEEPING_S = 0.5
GONE = "gone"  # header of an edge's message on a connection's `in`: the client left


class ConnectionChannel:
    """The ClientChannel of a client on another process: its edge, through NATS."""

    def __init__(self, writer: ClusterWriter, conn: str):
        self._writer = writer
        self.subject = connection_out(conn)
        self.detached = False  # the edge was lost: nothing to send to until a resume

    def put_control(self, message: Message) -> None:
        if not self.detached:
            self._writer.put(self.subject, *as_relayed(message))

    put_data = put_control

    def end(self) -> None:
        pass  # the controller's close code says how the connection ends

    def close(self, code: int) -> None:
        if not self.detached:
            self._writer.put(self.subject, b"", {CLOSE: str(int(code))})


@dataclass(eq=False)
class Held:
    """A client connection this worker serves, and its session once the hello was accepted."""

    conn: str
    edge: str
    channel: ConnectionChannel
    controller: SessionController
    inbound: Subscription | None = None
    control: Subscription | None = None
    lost_since: float | None = None  # when its edge stopped heartbeating
    streams: dict[tuple[str, str], Subscriber] = field(default_factory=dict)
    server_token: bytes = b""  # HMAC of the server token its hello presented (a resume must present it too)
    resuming: bool = False  # a resume is being decided
    # Until its hello was answered: what its client sent meanwhile (a reclaim: the edge relays
    # at once), replayed in order once the session exists. None from then on.
    pending: deque[Msg] | None = field(default_factory=deque)

    @property
    def session(self) -> Session | None:
        return self.controller.session


class ClusterWorker:
    def __init__(self, services: Services, client: Client, writer: ClusterWriter, worker_id: str):
        self.services = services
        self.settings = services.settings
        self.client = client
        self.writer = writer
        self.id = worker_id
        self.held: dict[str, Held] = {}  # by connection id
        self._by_session: dict[str, Held] = {}
        self._edges = LivenessWatch(services.settings.edge_timeout_s, HOUSEKEEPING_S)
        self._heartbeat: Heartbeat | None = None
        self._claims: Subscription | None = None
        self._subscriptions: list[Subscription] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.directory: SessionDirectory | None = None
        self._closing = False
        self._background = Background()
        self._token_key = secrets.token_bytes(32)  # for the HMACs of server tokens, this process only

    async def start(self) -> None:
        s = self.settings
        self.directory = await SessionDirectory.open(self.client, s.directory_ttl_s)
        self._subscriptions.append(await self.client.subscribe(EDGES_ALIVE, cb=self._on_edge_alive))
        self._subscriptions.append(await self.client.subscribe(CALIBRATION_CHANGED, cb=self._on_calibration))
        await self._join_queue()
        self._heartbeat = await asyncio.to_thread(
            Heartbeat, options_for(s, "heartbeat"), worker_alive(self.id), s.heartbeat_s
        )
        self._tasks = [
            asyncio.create_task(self._housekeeping(), name="worker-housekeeping"),
            asyncio.create_task(self._watch_calibration(), name="worker-calibration"),
        ]

    async def close(self) -> None:
        self._closing = True
        claims, self._claims = self._claims, None
        await _unsubscribe(claims)  # first: no new session comes to a worker that is stopping
        if self._heartbeat is not None:  # the edges take its sessions over from now
            await asyncio.to_thread(self._heartbeat.close)
        for task in self._tasks:
            task.cancel()
        for held in tuple(self.held.values()):  # handed over: the edges reclaim them elsewhere
            held.channel.detached = True
            await self._release(held, None, announce=False)
        for sub in self._subscriptions:
            await _unsubscribe(sub)

    # -- the queue group -----------------------------------------------------------------------
    async def _join_queue(self) -> None:
        if self._claims is None and not self.services.registry.full and not self._closing:
            self._claims = await self.client.subscribe(CLAIM, queue=WORKER_QUEUE, cb=self._on_claim)

    async def _on_claim(self, msg: Msg) -> None:
        """Claims are taken side by side: a session's models load while the next one is claimed
        (after a worker is lost, all of its sessions come at once)."""
        self._background.spawn(self._claim(msg))

    async def _update_queue(self) -> None:
        if self.services.registry.full and self._claims is not None:
            claims, self._claims = self._claims, None
            await _unsubscribe(claims)
        else:
            await self._join_queue()

    async def _claim(self, msg: Msg) -> None:
        try:
            claim = Claim.decode(msg.data)
        except RelayError as e:
            log.warning("claim dropped: %s", e)
            return
        self._edges.watch(claim.edge, time.monotonic())
        reclaim = None
        if claim.session_id is not None:
            entry = await self.directory.get(claim.session_id) if self.directory else None
            reclaim = Reclaim(claim.session_id, claim.next_sequence, _config_of(entry))
        channel = ConnectionChannel(self.writer, claim.conn)
        controller = SessionController(
            self.services.live, channel, resume_token=secrets.token_urlsafe(24), reclaim=reclaim
        )
        held = Held(claim.conn, claim.edge, channel, controller)
        controller.attach_stream = lambda session, subscriber: self._want(
            session, held, subscriber.format, subscriber.encoding
        )
        controller.on_config = lambda session: self._record(held)
        held.inbound = await self._subscribe_inbound(held)
        await controller.receive(claim.first.decode() if claim.text else claim.first)
        session = held.session
        if session is None:  # refused (the reasons went to the client): the edge may claim again
            held.pending = None
            await _unsubscribe(held.inbound)
            await msg.respond(Claimed(self.id, close_code=controller.close_code).encode())
            return
        held.server_token = self._token_digest(session.hello.token)
        self.held[held.conn] = held
        self._by_session[session.id] = held
        held.control = await self.client.subscribe(
            session_control(session.id), cb=self._on_control, pending_msgs_limit=self.settings.cluster_pending_messages
        )
        await self._put_entry(held)
        self.writer.put(session_events(session.id), Event("started").encode())
        await msg.respond(Claimed(self.id, session.id, session.hello.format, controller.encoding).encode())
        self._background.spawn(self._until_stopped(held), f"held-{held.conn}")
        await self._update_queue()
        await self._replay(held)
        if reclaim is not None:
            log.info("session %s reclaimed by worker %s at frame %d", session.id, self.id, claim.next_sequence)

    async def _subscribe_inbound(self, held: Held) -> Subscription:
        async def inbound(msg: Msg) -> None:
            if held.pending is not None:
                self._hold(held, msg)
                return
            await self._inbound(held, msg)

        return await self.client.subscribe(
            connection_in(held.conn), cb=inbound, pending_msgs_limit=self.settings.cluster_pending_messages
        )

    async def _inbound(self, held: Held, msg: Msg) -> None:
        if msg.headers and msg.headers.get(GONE):  # the client left: its session ends here
            await self._release(held, None)
            return
        await held.controller.receive(as_client_message(msg.data, msg.headers))

    def _hold(self, held: Held, msg: Msg) -> None:
        """A message that came before the session exists (a reclaim under way): kept for it
        (the client leaving, too: its session must end once it exists)."""
        assert held.pending is not None
        if len(held.pending) >= self.settings.cluster_reclaim_hold_messages:
            held.pending.popleft()
            self.services.metrics.dropped.labels("cluster_reclaiming").inc()
        held.pending.append(msg)

    async def _replay(self, held: Held) -> None:
        """The session exists: what was held goes to it, in order; from then on, as it comes
        (nothing is awaited between the last held message and the switch)."""
        while held.pending:
            await self._inbound(held, held.pending.popleft())
        held.pending = None

    async def _until_stopped(self, held: Held) -> None:
        await held.controller.stopped.wait()
        await self._release(held, held.controller.close_code)

    async def _release(self, held: Held, code: int | None, reason: str = "ended", announce: bool = True) -> None:
        """The connection is over: its session ends here, its edge is told to close the client
        (with ``code``), its watchers that it ended or paused (``announce``)."""
        if self.held.pop(held.conn, None) is None:
            return
        session = held.session
        held.controller.end()
        if code is not None:
            held.channel.close(code)
        for sub in (held.inbound, held.control):
            await _unsubscribe(sub)
        if session is not None:
            self._by_session.pop(session.id, None)
        if session is not None and announce:
            kind = "paused" if session.hello.session_name else "ended"
            self.writer.put(session_events(session.id), Event(kind, reason).encode())
            if self.directory is not None:
                await self.directory.delete(session.id, self.id)
        await self._update_queue()

    # -- the stream, per format ----------------------------------------------------------------
    def _want(self, session: Session, held: Held, fmt: str, encoding: Encoding) -> None:
        """The session's stream in this form on NATS, from now until the session ends."""
        if (fmt, encoding) in held.streams:
            return
        channel = ClusterStreamChannel(self.writer, frames(session.id, fmt, encoding), session.output)
        held.streams[(fmt, encoding)] = subscriber = Subscriber(channel, fmt, encoding)
        session.wire.subscribe(subscriber)

    async def _on_control(self, msg: Msg) -> None:
        try:
            control = Control.decode(msg.data)
        except RelayError as e:
            log.warning("control dropped: %s", e)
            return
        session_id = session_of(msg.subject)
        held = self._by_session.get(session_id)
        if held is None or held.session is None:
            await msg.respond(Claimed(self.id).encode())
            return
        session = held.session
        encoding = as_encoding(control.encoding)
        if control.op == "stream" and control.format in ("named", "packed") and encoding is not None:
            self._want(session, held, control.format, encoding)
            await msg.respond(Claimed(self.id, session.id, control.format, encoding).encode())
        elif control.op == "ping":  # an edge that missed this worker's heartbeats asks
            await msg.respond(Claimed(self.id, session.id).encode())
        elif control.op == "resume" and self._proves(held, control):
            held.resuming = True  # decided off this subscription: pings must not wait behind it
            self._background.spawn(self._resume_when_edge_lost(held, control, msg))
        else:
            await msg.respond(Claimed(self.id).encode())

    def _token_digest(self, server_token: str | None) -> bytes:
        return hmac.new(self._token_key, (server_token or "").encode(), hashlib.sha256).digest()

    def _proves(self, held: Held, control: Control) -> bool:
        """The resume token of the session's latest welcome and the server token of its hello,
        both compared in constant time (both always: no early answer tells which was wrong)."""
        resume_ok = hmac.compare_digest(control.token.encode(), (held.controller.resume_token or "").encode())
        server_ok = hmac.compare_digest(self._token_digest(control.server_token), held.server_token)
        return resume_ok and server_ok and not held.resuming

    async def _edge_lost(self, held: Held) -> bool:
        """Whether the session's edge is gone: taken for lost already, or silent for
        `edge_timeout_s` within that long plus a little (a client whose edge just died resumes
        at once; its edge's heartbeats stop and this waits for them to be missed)."""
        timeout_s, beat_s = self.settings.edge_timeout_s, self.settings.heartbeat_s
        deadline = time.monotonic() + timeout_s + 2 * max(beat_s, HOUSEKEEPING_S)
        while held.lost_since is None:
            now = time.monotonic()
            last = self._edges.last_seen(held.edge)
            if last is None or now - last > timeout_s:
                return True
            if now > deadline:
                return False
            await asyncio.sleep(beat_s)
        return True

    async def _resume_when_edge_lost(self, held: Held, control: Control, msg: Msg) -> None:
        session_id = session_of(msg.subject)
        try:
            session = held.session
            if not await self._edge_lost(held) or session is None or held.conn not in self.held:
                log.warning("a resume of session %s was refused: its edge %s is alive", session_id, held.edge)
                await msg.respond(Claimed(self.id).encode())
                return
            await self._resume(held, control)
            await msg.respond(Claimed(self.id, session.id, session.hello.format, held.controller.encoding).encode())
        finally:
            held.resuming = False

    async def _resume(self, held: Held, control: Control) -> None:
        """The client is back through another edge: its replies go there from now on. Whoever
        had the connection is told (4409), should its edge still reach it."""
        await _unsubscribe(held.inbound)
        del self.held[held.conn]
        self.writer.put(connection_out(held.conn), b"", {CLOSE: str(int(CloseCode.REPLACED))})
        held.controller.resume_token = secrets.token_urlsafe(24)  # a stolen one is worth nothing now
        held.conn, held.edge, held.lost_since = control.conn, control.edge, None
        self._edges.watch(held.edge, time.monotonic())
        held.channel = held.controller.channel = ConnectionChannel(self.writer, held.conn)
        self.held[held.conn] = held
        held.inbound = await self._subscribe_inbound(held)
        session = held.session
        assert session is not None
        config = {**session.config().to_wire(), "resume_token": held.controller.resume_token, "resumed": True}
        welcome = envelopes.welcome(self.services.describe(session), config)
        held.channel.put_control(welcome.encoded("named", held.controller.encoding))
        await self._put_entry(held)
        log.info("session %s resumed through edge %s", session.id, held.edge)

    async def _on_calibration(self, msg: Msg) -> None:
        """A user's calibration changed (saved, reverted, deleted) somewhere in the cluster: the
        fast path, a core NATS announcement."""
        try:
            await self._apply_calibration(msg.data.decode())
        except UnicodeDecodeError:
            return

    async def _watch_calibration(self) -> None:
        """The sure path: every change of the calibration bucket (JetStream keeps it, so none
        is missed while the announcement might be), applied to this worker's sessions."""
        kv = await bucket(self.client, BUCKET_CALIBRATION)
        watcher = await kv.watchall(meta_only=True)
        started = False
        async for entry in watcher:
            if entry is None:  # the end of what was stored before: changes only from here
                started = True
            elif started:
                try:
                    await self._apply_calibration(text_of(entry.key.split(".", 1)[0]))
                except (ValueError, UnicodeDecodeError):
                    continue  # a key this project did not write

    async def _apply_calibration(self, user_id: str) -> None:
        if any(h.session is not None and h.session.hello.user_id == user_id for h in self.held.values()):
            table = await asyncio.to_thread(self.services.calibration.get, user_id)
            self.services.registry.apply_calibration(user_id, table)

    # -- liveness ------------------------------------------------------------------------------
    async def _on_edge_alive(self, msg: Msg) -> None:
        self._edges.seen(process_of(msg.subject), time.monotonic())

    async def _housekeeping(self) -> None:
        """Now and then: lost edges' sessions detach (and end after the resume window), and
        the directory records are refreshed (their bucket forgets what is not)."""
        s = self.settings
        while True:
            await asyncio.sleep(HOUSEKEEPING_S)
            now = time.monotonic()
            lost = self._edges.lost(now)
            for held in tuple(self.held.values()):
                if held.lost_since is None and held.edge in lost:
                    held.lost_since = now
                    held.channel.detached = True
                    log.info(
                        "edge %s lost: session %s waits %g s for a resume",
                        held.edge,
                        held.session.id if held.session else "-",
                        s.resume_window_s,
                    )
                elif held.lost_since is not None and now - held.lost_since > s.resume_window_s:
                    await self._release(held, None, "not resumed")
                else:
                    await self._refresh_entry(held)

    # -- the directory -------------------------------------------------------------------------
    def _record(self, held: Held) -> None:
        if held.conn in self.held:
            self._background.spawn(self._put_entry(held))

    async def _put_entry(self, held: Held) -> None:
        session = held.session
        if session is None or self.directory is None:
            return
        welcome = envelopes.welcome_payload(self.services.describe(session))
        await self.directory.put(
            session.id,
            DirectoryEntry(
                self.id,
                held.edge,
                held.conn,
                welcome,
                _plain(session.config().to_wire()),
                session.hello.session_name is not None,
            ),
        )

    async def _refresh_entry(self, held: Held) -> None:
        session = held.session
        if session is None or self.directory is None:
            return
        entry = await self.directory.get(session.id)
        if entry is not None and entry.worker != self.id:  # another worker reclaimed it: let go
            log.warning("session %s is now held by worker %s; letting it go", session.id, entry.worker)
            held.channel.detached = True
            await self._release(held, None, announce=False)
            return
        await self._put_entry(held)


def _config_of(entry: DirectoryEntry | None) -> SessionConfig | None:
    """The configuration a lost worker's session had, from its directory record."""
    try:
        return SessionConfig.from_wire(entry.config) if entry is not None else None
    except ValueError:
        return None


def _plain(config: dict[str, Any]) -> dict[str, Any]:
    """A session's config as plain CBOR-able data (tuples become lists)."""
    plain: dict[str, Any] = cbor2.loads(cbor2.dumps(config))
    return plain
