"""LivenessWatch (server/cluster/liveness.py): who is lost, and nobody judged by a late check.
The heartbeat thread itself runs in every cluster test (tests/integration/test_cluster.py)."""

from server.cluster.liveness import LivenessWatch


def checks(watch: LivenessWatch, start: float, end: float) -> dict[float, set[str]]:
    """A check every 0.1 s from start to end (inclusive), as the edge's loop makes them."""
    times = [round(start + 0.1 * i, 2) for i in range(int(round((end - start) / 0.1)) + 1)]
    return {t: watch.lost(t) for t in times}


def test_a_silent_process_is_lost_after_the_timeout_and_a_heard_one_is_not() -> None:
    watch = LivenessWatch(timeout_s=0.5, check_every_s=0.1)
    watch.seen("w1", 0.0)
    watch.watch("w2", 0.0)  # expected to heartbeat, none heard yet
    first = checks(watch, 0.1, 0.4)
    watch.seen("w1", 0.45)
    watch.watch("w2", 0.45)  # watching again does not reset its silence
    later = checks(watch, 0.5, 1.0)
    assert all(lost == set() for lost in first.values())
    assert later[0.6] == {"w2"} and later[1.0] == {"w1", "w2"}
    watch.forget("w2")
    assert watch.lost(1.1) == {"w1"} and watch.last_seen("w2") is None


def test_a_check_that_comes_late_judges_nobody() -> None:
    """The watcher's own loop was busy for a second: the heartbeats that came meanwhile are
    unread, so silence says nothing yet."""
    watch = LivenessWatch(timeout_s=0.5, check_every_s=0.1)
    watch.seen("w1", 0.0)
    assert watch.lost(0.1) == set()
    assert watch.lost(1.2) == set()  # late
    watch.seen("w1", 1.21)  # the heartbeat that waited, read now
    after = checks(watch, 1.3, 1.8)
    assert after[1.6] == set() and after[1.8] == {"w1"}  # on time, and silent for real
