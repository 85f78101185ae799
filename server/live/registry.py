"""The live sessions of this process and their watchers, in one place.

A session's watchers are subscribers of its wire sink, and only there; the registry opens
and closes those subscriptions and enforces the limits. `apply_calibration` gives a user's
new table to every open session of theirs.
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


class SessionRegistry:
    def __init__(self, metrics: Metrics, max_sessions: int, max_watchers_per_session: int):
        self.metrics = metrics
        self.max_sessions = max_sessions
        self.max_watchers_per_session = max_watchers_per_session
        self._sessions: dict[str, Session] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def __iter__(self):
        return iter(tuple(self._sessions.values()))

    @property
    def full(self) -> bool:
        return len(self._sessions) >= self.max_sessions

    def get(self, session_id: str) -> Session | None:
        return self._sessions.get(session_id)

    def add(self, session: Session) -> None:
        self._sessions[session.id] = session
        self.metrics.sessions.inc()

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
