"""The live sessions of this process and their watchers, in one place.

A session's watchers are subscribers of its wire sink, and only there; the registry opens
and closes those subscriptions and enforces the limits. A session's place is reserved before
anything is awaited for it (`reserve`), so simultaneous hellos cannot all pass the limit.
`apply_calibration` gives a user's new table to every open session of theirs.
"""

from __future__ import annotations

from enum import Enum

from calibration.table import CalibrationTable

from ..metrics import Metrics
from ..sinks.wire import Subscriber
from .session import Session


class WatchRefusal(Enum):
    UNKNOWN_SESSION = "unknown session"
    TOO_MANY_WATCHERS = "too many watchers for this session"


class SessionLimitReached(Exception):
    pass


class Reservation:
    """A place for one session, held until `fill` or `release` (a context manager releases)."""

    def __init__(self, registry: "SessionRegistry"):
        self._registry: SessionRegistry | None = registry

    def fill(self, session: Session) -> None:
        registry, self._registry = self._registry, None
        if registry is None:
            raise RuntimeError("this reservation was already used")
        registry._reserved -= 1
        registry._sessions[session.id] = session
        registry.metrics.sessions.inc()

    def release(self) -> None:
        if self._registry is not None:
            self._registry._reserved -= 1
            self._registry = None

    def __enter__(self) -> "Reservation":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class SessionRegistry:
    def __init__(self, metrics: Metrics, max_sessions: int, max_watchers_per_session: int):
        self.metrics = metrics
        self.max_sessions = max_sessions
        self.max_watchers_per_session = max_watchers_per_session
        self._sessions: dict[str, Session] = {}
        self._reserved = 0

    def __len__(self) -> int:
        return len(self._sessions)

    def __iter__(self):
        return iter(tuple(self._sessions.values()))

    @property
    def full(self) -> bool:
        return len(self._sessions) + self._reserved >= self.max_sessions

    def reserve(self) -> Reservation:
        """A place for a session about to be built; SessionLimitReached when there is none.
        Synchronous: the check and the reservation happen without an await between them."""
        if self.full:
            raise SessionLimitReached(f"the server already has {self.max_sessions} sessions; try again later")
        self._reserved += 1
        return Reservation(self)

    def get(self, session_id: str) -> Session | None:
        return self._sessions.get(session_id)

    def add(self, session: Session) -> None:
        """Registers a session without a reservation (tests; the controller reserves first)."""
        self.reserve().fill(session)

    def close(self, session_id: str) -> None:
        """Removes and closes the session; its watchers are told it ended."""
        session = self._sessions.pop(session_id, None)
        if session is None:
            return
        self.metrics.sessions.dec()
        self.metrics.watchers.dec(session.wire.watchers)
        session.close()

    def watch(self, session_id: str, subscriber: Subscriber) -> Session | WatchRefusal:
        session = self._sessions.get(session_id)
        if session is None:
            return WatchRefusal.UNKNOWN_SESSION
        if session.wire.watchers >= self.max_watchers_per_session:
            return WatchRefusal.TOO_MANY_WATCHERS
        subscriber.watcher = True
        session.wire.subscribe(subscriber)
        self.metrics.watchers.inc()
        return session

    def unwatch(self, session_id: str, subscriber: Subscriber) -> None:
        session = self._sessions.get(session_id)
        if session is not None and subscriber in session.wire.subscribers:
            session.wire.unsubscribe(subscriber)
            self.metrics.watchers.dec()

    def apply_calibration(self, user_id: str, table: CalibrationTable | None) -> int:
        """The user's table (None: theirs was deleted) in every open session of theirs;
        returns how many sessions took it."""
        taken = 0
        for session in self:
            if session.hello.user_id == user_id:
                session.calibration.set_table(table or CalibrationTable.identity(user_id))
                taken += 1
        return taken
