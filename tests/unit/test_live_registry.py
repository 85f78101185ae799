"""The registry: sessions and their watchers in one place, limits, calibration for a user."""

import pytest

from calibration.table import CalibrationTable
from server.live.bus import InProcessBus
from server.live.registry import NameTaken, Parked, SessionLimitReached, SessionRegistry, WatchRefusal
from server.live.session import Session
from server.metrics import Metrics
from server.protocol.constants import SessionState
from server.sinks.wire import Subscriber
from tests.support.fakes import MemoryChannel, make_session


def gauge(metrics: Metrics, name: str) -> float:
    value = metrics.registry.get_sample_value(name)
    assert value is not None, f"{name} was never set"
    return value


def test_watchers_are_counted_once_limited_and_told_when_the_session_ends() -> None:
    metrics = Metrics()
    registry = SessionRegistry(metrics, max_sessions=2, max_watchers_per_session=2)
    session = make_session(InProcessBus())
    registry.add(session)
    channels = [MemoryChannel() for _ in range(3)]
    subs = [Subscriber(c, "packed", "cbor") for c in channels]
    assert registry.watch("nope", subs[0]) is WatchRefusal.UNKNOWN_SESSION
    assert registry.watch(session.id, subs[0]) is session and registry.watch(session.id, subs[1]) is session
    assert registry.watch(session.id, subs[2]) is WatchRefusal.TOO_MANY_WATCHERS
    assert session.wire.watchers == 2 and gauge(metrics, "avatar_driver_watchers") == 2
    registry.unwatch(session.id, subs[1])
    registry.unwatch(session.id, subs[1])  # twice: counted once
    assert gauge(metrics, "avatar_driver_watchers") == 1
    registry.close(session.id)
    registry.unwatch(session.id, subs[0])  # the watcher's transport leaves after the session ended
    assert channels[0].ended and not channels[1].ended
    assert gauge(metrics, "avatar_driver_watchers") == 0 and gauge(metrics, "avatar_driver_sessions") == 0
    assert registry.get(session.id) is None and len(registry) == 0


def test_the_session_limit() -> None:
    registry = SessionRegistry(Metrics(), max_sessions=1, max_watchers_per_session=1)
    assert not registry.full
    registry.add(make_session(InProcessBus()))
    assert registry.full


def test_a_users_new_table_reaches_only_their_sessions() -> None:
    registry = SessionRegistry(Metrics(), max_sessions=4, max_watchers_per_session=1)
    theirs, other = make_session(InProcessBus(), user_id="ana"), make_session(InProcessBus(), user_id="bo")
    other.id = "s2"
    for s in (theirs, other):
        registry.add(s)
    table = CalibrationTable.from_dict(
        {**CalibrationTable.identity("ana").to_dict(), "head_neutral_deg": {"yaw": 5.0, "pitch": 0.0, "roll": 0.0}}
    )
    assert registry.apply_calibration("ana", table) == 1
    assert theirs.calibration.table is table and other.calibration.table.is_identity
    assert theirs.output.mapper.calibration is table
    assert registry.apply_calibration("ana", None) == 1  # deleted: back to no table
    assert theirs.calibration.table.is_identity and theirs.calibration.table.user_id == "ana"
    for s in list(registry):
        registry.close(s.id)
    assert len(registry) == 0


def named_session(name: str = "alice-stream") -> Session:
    session = make_session(InProcessBus(), session_name=name)
    session.id = name
    return session


def test_a_named_sessions_watchers_wait_for_its_next_session_and_are_adopted() -> None:
    """A new avatar or a reconnect makes a new session: under the same name its watchers
    (an OBS overlay, a Unity scene) keep the stream."""
    metrics = Metrics()
    registry = SessionRegistry(metrics, max_sessions=2, max_watchers_per_session=2, linger_s=60.0)
    first = named_session()
    registry.add(first)
    channel = MemoryChannel()
    watcher = Subscriber(channel, "named", "cbor")
    assert registry.watch("alice-stream", watcher) is first
    registry.close(first.id)  # the publisher left
    assert not channel.ended and channel.control[-1]["type"] == "session_paused"
    assert channel.control[-1]["payload"] == {"reason": "ended", "resume_within_s": 60.0}
    assert gauge(metrics, "avatar_driver_watchers") == 1 and gauge(metrics, "avatar_driver_sessions") == 0
    late = Subscriber(MemoryChannel(), "named", "cbor")
    parked = registry.watch("alice-stream", late)  # joins while the publisher is away
    assert isinstance(parked, Parked) and parked.watchers == [watcher, late]
    assert (
        registry.watch("alice-stream", Subscriber(MemoryChannel(), "named", "cbor")) is WatchRefusal.TOO_MANY_WATCHERS
    )
    second = named_session()
    adopted = registry.reserve().fill(second)
    assert adopted == [watcher, late] and second.wire.watchers == 2 and first.wire.watchers == 0
    registry.unwatch("alice-stream", late)
    assert gauge(metrics, "avatar_driver_watchers") == 1
    # A hello naming a live session takes it over; its watchers move to the new one.
    assert registry.take_over("alice-stream") is second and registry.get("alice-stream") is None
    assert channel.control[-1]["payload"]["reason"] == "replaced"
    assert registry.reserve().fill(named_session()) == [watcher]
    assert registry.take_over("nobody-here") is None


def test_parked_watchers_end_after_the_linger_time_and_unnamed_sessions_end_at_once() -> None:
    metrics = Metrics()
    registry = SessionRegistry(metrics, max_sessions=2, max_watchers_per_session=2, linger_s=0.0)
    named, unnamed = named_session(), make_session(InProcessBus())
    for s in (named, unnamed):
        registry.add(s)
    on_named, on_unnamed = MemoryChannel(), MemoryChannel()
    registry.watch(named.id, Subscriber(on_named, "named", "cbor"))
    registry.watch(unnamed.id, Subscriber(on_unnamed, "named", "cbor"))
    registry.close(unnamed.id)
    assert on_unnamed.ended and not on_unnamed.control  # no name: nothing to wait for
    registry.close(named.id)
    assert not on_named.ended
    assert registry.watch("someone-else", Subscriber(MemoryChannel(), "named", "cbor")) is WatchRefusal.UNKNOWN_SESSION
    assert on_named.ended and gauge(metrics, "avatar_driver_watchers") == 0  # expired on that call


def test_waiting_for_a_name_not_live_yet_is_bounded() -> None:
    registry = SessionRegistry(Metrics(), max_sessions=1, max_watchers_per_session=2, linger_s=60.0)
    sub = Subscriber(MemoryChannel(), "named", "cbor")
    waiting = registry.watch("overlay-first", sub, wait=True)
    assert isinstance(waiting, Parked) and waiting.watchers == [sub]
    assert (
        registry.watch("another-name", Subscriber(MemoryChannel(), "named", "cbor"), wait=True)
        is WatchRefusal.TOO_MANY_WATCHERS
    )  # at most max_sessions names wait
    assert registry.reserve().fill(named_session("overlay-first")) == [sub]


def test_only_a_session_created_with_a_name_can_be_taken_over_by_it() -> None:
    """Issue 24 item 10: a hello naming a random session's id took that session over (closed it)."""
    registry = SessionRegistry(Metrics(), max_sessions=2, max_watchers_per_session=2)
    unnamed = make_session(InProcessBus())
    unnamed.id = "x1RandomId_-"  # what new_session_id makes: it matches a session name's pattern
    registry.add(unnamed)
    assert registry.take_over(unnamed.id) is None and registry.get(unnamed.id) is unnamed
    with pytest.raises(NameTaken):
        registry.reserve(unnamed.id)
    with registry.reserve() as reservation, pytest.raises(NameTaken):  # it got the id while being built
        reservation.fill(named_session(unnamed.id))
    assert registry.get(unnamed.id) is unnamed and not registry.full and len(registry) == 1


def closed(session: Session) -> bool:
    return session.state == SessionState.CLOSED


def test_a_named_session_is_taken_over_only_when_its_successor_is_registered() -> None:
    """A takeover hello reserves first and closes the old session only in `fill`: a hello
    refused meanwhile (an unknown rig) leaves it alive. At the session limit the successor
    takes the old one's place; a second takeover of the same name at once needs a place."""
    registry = SessionRegistry(Metrics(), max_sessions=1, max_watchers_per_session=2)
    first = named_session()
    registry.add(first)
    with registry.reserve("alice-stream"):  # built, then refused: released unused
        with pytest.raises(SessionLimitReached):
            registry.reserve("alice-stream")
    assert registry.get("alice-stream") is first and not closed(first)
    second = named_session()
    registry.reserve("alice-stream").fill(second)
    assert registry.get("alice-stream") is second and closed(first) and len(registry) == 1
