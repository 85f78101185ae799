"""The in-process bus: direct delivery per session and topic, cancellation, the codec mode."""

import numpy as np
import pytest

from avatar_mapping.features import FaceFeatures
from server.live.bus import InProcessBus
from server.protocol.bus import BusCodecError, BusMessage, FaceResult, StageError, Topic
from server.protocol.constants import ErrorCode
from tests.support.stages import of_type


def test_messages_reach_the_subscribers_of_their_session_and_topic_only() -> None:
    bus = InProcessBus()
    faces: list[BusMessage] = []
    errors: list[BusMessage] = []
    other: list[BusMessage] = []
    bus.subscribe("s1", Topic.FACE, faces.append)
    bus.subscribe("s1", Topic.STAGE_ERROR, errors.append)
    bus.subscribe("s2", Topic.FACE, other.append)
    result = FaceResult(FaceFeatures.absent(1), 0.5)
    bus.publish("s1", result)
    bus.publish("s1", StageError("face", ErrorCode.BAD_IMAGE, "bad"))
    bus.publish("s3", result)  # nobody listens: dropped silently
    assert faces == [result] and faces[0] is result  # in process: the object itself
    assert [e.code for e in of_type(StageError, errors)] == [ErrorCode.BAD_IMAGE] and other == []


def test_cancelled_subscriptions_leave_nothing_behind() -> None:
    bus = InProcessBus()
    got: list[BusMessage] = []
    subs = [bus.subscribe("s", topic, got.append) for topic in Topic]
    assert bus.subscriptions == len(Topic)
    for s in subs:
        s.cancel()
        s.cancel()  # twice is harmless
    bus.publish("s", FaceResult(FaceFeatures.absent(1), 0.0))
    assert got == [] and bus.subscriptions == 0 and not bus._handlers


def test_a_handler_may_cancel_itself_while_being_called() -> None:
    bus = InProcessBus()
    got: list[BusMessage] = []

    def once(message: BusMessage) -> None:
        got.append(message)
        sub.cancel()

    sub = bus.subscribe("s", Topic.FACE, once)
    bus.subscribe("s", Topic.FACE, got.append)
    bus.publish("s", FaceResult(FaceFeatures.absent(1), 0.0))
    bus.publish("s", FaceResult(FaceFeatures.absent(2), 0.0))
    assert [m.features.capture_ms for m in of_type(FaceResult, got)] == [1, 1, 2]


def test_through_the_codec_subscribers_get_an_equal_copy() -> None:
    bus = InProcessBus(through_codec=True)
    got: list[BusMessage] = []
    bus.subscribe("s", Topic.FACE, got.append)
    sent = FaceResult(FaceFeatures.from_blendshapes(np.linspace(0, 1, 52) / 3, 42), 1 / 3)
    bus.publish("s", sent)
    copy = of_type(FaceResult, got)[0]
    assert copy is not sent and np.array_equal(copy.features.blendshapes, sent.features.blendshapes)
    assert copy.received_s == 1 / 3


def test_through_the_codec_what_cannot_be_sent_fails_where_it_is_published() -> None:
    bus = InProcessBus(through_codec=True)
    bus.subscribe("s", Topic.FACE, lambda m: None)
    broken = FaceResult(FaceFeatures.from_blendshapes(np.zeros(52), 1), 0.0)
    object.__setattr__(broken.features, "blendshapes", np.zeros(3))  # a stage bug: a wrong-sized array
    with pytest.raises(BusCodecError, match="blendshapes has 3"):
        bus.publish("s", broken)
