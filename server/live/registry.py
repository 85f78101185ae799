"""The live sessions of this process and their watchers, in one place.

A session's watchers are subscribers of its wire sink, and only there; the registry opens
and closes those subscriptions and enforces the limits. A session's place is reserved before
anything is awaited for it (`reserve`), so simultaneous hellos cannot all pass the limit.
`apply_calibration` gives a user's new table to every open session of theirs.

A *named* session (`hello.session_name`; the name is its id) outlives its connection for its
watchers: when the publisher leaves, its watchers are parked under the name (told
`session_paused`) for `linger_s`, and the next session of that name adopts them, so an OBS
overlay or a Unity scene keeps its stream across a new avatar or a reconnect. A hello naming
a live session *created with that name* takes it over once the new one runs (`Reservation.fill`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum

from calibration.table import CalibrationTable

from ..metrics import Metrics
from ..protocol import envelopes
from ..sinks.wire import Subscriber
from .session import Session


class WatchRefusal(Enum):
    UNKNOWN_SESSION = "unknown session"
    TOO_MANY_WATCHERS = "too many watchers for this session"


class SessionLimitReached(Exception):
    pass


class NameTaken(Exception):  # a session_name that is the id of a live session created without it
    pass


@dataclass
class Parked:
    """Watchers of a named session whose publisher is away, until ``expires_at`` (monotonic s)."""

    expires_at: float
    watchers: list[Subscriber] = field(default_factory=list)


class Reservation:
    """A place for one session, held until `fill` or `release` (a context manager releases)."""

    def __init__(self, registry: SessionRegistry, replacing: str | None = None):
        self._registry: SessionRegistry | None = registry
        self._replacing = replacing  # the name of the live session whose place this one takes

    def fill(self, session: Session) -> list[Subscriber]:
        """Registers the session, taking over a live named session of its name; returns the
        parked watchers it adopted (they need a welcome). NameTaken: an unnamed one holds its id."""
        registry = self._registry
        if registry is None:
            raise RuntimeError("this reservation was already used")
        if session.hello.session_name is not None:
            registry.check_name(session.id)  # raises before anything changes
            registry.take_over(session.id)
        self.release()
        if session.id in registry._sessions:
            raise RuntimeError(f"session {session.id!r} is already registered")
        registry._sessions[session.id] = session
        registry.metrics.sessions.inc()
        return registry._adopt(session)

    def release(self) -> None:
        if self._registry is not None:
            self._registry._reserved -= 1
            self._registry._replacing.discard(self._replacing or "")
            self._registry = None

    def __enter__(self) -> Reservation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class SessionRegistry:
    def __init__(self, metrics: Metrics, max_sessions: int, max_watchers_per_session: int, linger_s: float = 120.0):
        self.metrics = metrics
        self.max_sessions = max_sessions
        self.max_watchers_per_session = max_watchers_per_session
        self.linger_s = linger_s
        self._sessions: dict[str, Session] = {}
        self._parked: dict[str, Parked] = {}
        self._reserved = 0
        self._replacing: set[str] = set()  # names a reservation will take over

    def __len__(self) -> int:
        return len(self._sessions)

    def __iter__(self) -> Iterator[Session]:
        return iter(tuple(self._sessions.values()))

    @property
    def full(self) -> bool:
        return len(self._sessions) + self._reserved >= self.max_sessions

    def reserve(self, name: str | None = None) -> Reservation:
        """A place for a session about to be built; SessionLimitReached when there is none.
        Synchronous: no await between the check and the reservation. ``name`` (session_name):
        taking over a live named session needs no free place, it takes the victim's (one
        such reservation per name at a time)."""
        if name is not None:
            self.check_name(name)
        replacing = name if name is not None and name in self._sessions and name not in self._replacing else None
        if self.full and (replacing is None or len(self._sessions) + self._reserved > self.max_sessions):
            raise SessionLimitReached(f"the server already has {self.max_sessions} sessions; try again later")
        self._reserved += 1
        if replacing is not None:
            self._replacing.add(replacing)
        return Reservation(self, replacing)

    def check_name(self, name: str) -> None:
        """NameTaken when a live session has this id without having been created with this name."""
        session = self._sessions.get(name)
        if session is not None and session.hello.session_name != name:
            raise NameTaken(f"session_name {name!r} is the id of a live session started without that name")

    def get(self, session_id: str) -> Session | None:
        return self._sessions.get(session_id)

    def add(self, session: Session) -> None:
        """Registers a session without a reservation (tests; the controller reserves first)."""
        self.reserve().fill(session)

    def close(self, session_id: str, reason: str = "ended") -> None:
        """Removes and closes the session. Its watchers are told it ended, or, for a named
        session, that it paused (``reason``: ended, replaced): they wait for its name's next session."""
        session = self._sessions.pop(session_id, None)
        if session is None:
            return
        self.metrics.sessions.dec()
        if session.hello.session_name is not None:
            self._park(session, reason)
        self.metrics.watchers.dec(session.wire.watchers)
        session.close()

    def take_over(self, name: str) -> Session | None:
        """The live session created with this name closes as replaced (its watchers wait for
        the new one, its connection is told); returns it, or None (an unnamed one is not touched)."""
        session = self._sessions.get(name)
        if session is None or session.hello.session_name != name:
            return None
        self.close(name, reason="replaced")
        if session.listener is not None:
            session.listener.on_replaced()
        return session

    def watch(self, session_id: str, subscriber: Subscriber, wait: bool = False) -> Session | Parked | WatchRefusal:
        """Subscribes a watcher: to the live session, or parked with the session's other
        watchers while its publisher is away (also to a name not live yet, when ``wait``)."""
        self._expire()
        session = self._sessions.get(session_id)
        parked = self._parked.get(session_id)
        if session is None and parked is None and not wait:
            return WatchRefusal.UNKNOWN_SESSION
        watchers = session.wire.watchers if session is not None else len(parked.watchers) if parked else 0
        if watchers >= self.max_watchers_per_session:
            return WatchRefusal.TOO_MANY_WATCHERS
        subscriber.watcher = True
        self.metrics.watchers.inc()
        if session is not None:
            session.wire.subscribe(subscriber)
            return session
        if parked is None:
            if len(self._parked) >= self.max_sessions:  # names waiting for a publisher are bounded too
                self.metrics.watchers.dec()
                return WatchRefusal.TOO_MANY_WATCHERS
            parked = self._parked[session_id] = Parked(time.monotonic() + self.linger_s)
            self._expire_later()
        parked.watchers.append(subscriber)
        return parked

    def unwatch(self, session_id: str, subscriber: Subscriber) -> None:
        session = self._sessions.get(session_id)
        parked = self._parked.get(session_id)
        if session is not None and subscriber in session.wire.subscribers:
            session.wire.unsubscribe(subscriber)
            self.metrics.watchers.dec()
        elif parked is not None and subscriber in parked.watchers:
            parked.watchers.remove(subscriber)
            self.metrics.watchers.dec()
            if not parked.watchers:
                del self._parked[session_id]

    # -- named sessions' watchers while the publisher is away ------------------------------
    def _park(self, session: Session, reason: str) -> None:
        watchers = [s for s in session.wire.subscribers if s.watcher]
        if not watchers:
            return
        for s in watchers:
            session.wire.unsubscribe(s)
        parked = self._parked.setdefault(session.id, Parked(0.0))
        parked.expires_at = time.monotonic() + self.linger_s
        parked.watchers.extend(watchers)
        paused = envelopes.session_paused(reason, self.linger_s, session.id)
        for s in watchers:
            s.channel.put_control(paused.encoded("named", s.encoding))
        self._expire_later()

    def _adopt(self, session: Session) -> list[Subscriber]:
        parked = self._parked.pop(session.id, None)
        if parked is None:
            return []
        for s in parked.watchers:
            session.wire.subscribe(s)
        return parked.watchers

    def _expire(self) -> None:
        """Ends the watchers whose session's name stayed away past the linger time."""
        now = time.monotonic()
        for name in [n for n, p in self._parked.items() if p.expires_at <= now]:
            parked = self._parked.pop(name)
            self.metrics.watchers.dec(len(parked.watchers))
            for s in parked.watchers:
                s.channel.end()

    def _expire_later(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a synchronous caller): expired on the next watch
            return
        loop.call_later(self.linger_s + 0.05, self._expire)

    def apply_calibration(self, user_id: str, table: CalibrationTable | None) -> int:
        """The user's table (None: theirs was deleted) in every open session of theirs;
        returns how many sessions took it."""
        taken = 0
        for session in self:
            if session.hello.user_id == user_id:
                session.calibration.set_table(table or CalibrationTable.identity(user_id))
                taken += 1
        return taken
