"""The wire sink: one encoding per (format, encoding), every client served, watchers counted
and told when the session ends."""

import cbor2

from server.metrics import Metrics
from server.protocol import envelopes
from server.sinks.outbox import Message
from server.sinks.wire import Subscriber, WireSink
from tests.support.fakes import MemoryChannel
from tests.support.golden import SESSION, T0, avatar_frame
from tests.support.rigs import load_rig


class CountingChannel(MemoryChannel):
    def __init__(self) -> None:
        super().__init__()
        self.raw: list[Message] = []

    def put_data(self, message: Message) -> None:
        self.raw.append(message)
        super().put_data(message)


def test_each_client_gets_its_format_and_each_form_is_encoded_once() -> None:
    metrics = Metrics()
    wire = WireSink(metrics)
    a, b, c = CountingChannel(), CountingChannel(), CountingChannel()
    wire.subscribe(Subscriber(a, "packed", "cbor"))
    wire.subscribe(Subscriber(b, "packed", "cbor", watcher=True))
    wire.subscribe(Subscriber(c, "named", "cbor", watcher=True))
    message = envelopes.avatar_frame(avatar_frame(load_rig("arkit52")), SESSION, T0, 5)
    wire.send(message)
    assert a.raw[0] is b.raw[0]  # the same bytes object: encoded once for both
    assert 0 in a.data[0] and c.data[0]["type"] == "avatar_frame"
    assert wire.watchers == 2
    assert 'avatar_driver_messages_out_total{type="avatar_frame"} 1.0' in metrics.render().decode()


def test_closing_ends_the_watchers_but_not_the_publisher() -> None:
    wire = WireSink(Metrics())
    publisher, watcher = MemoryChannel(), MemoryChannel()
    wire.subscribe(Subscriber(publisher, "named", "cbor"))
    sub = Subscriber(watcher, "named", "json", watcher=True)
    wire.subscribe(sub)
    wire.unsubscribe(sub)
    wire.unsubscribe(sub)  # twice is harmless
    assert wire.watchers == 0
    wire.subscribe(sub)
    wire.close()
    assert watcher.ended and not publisher.ended and wire.subscribers == ()


def test_emotion_and_transcripts_go_out_as_their_messages() -> None:
    from server.sinks.base import MessageMeta
    from tests.support.golden import emotion_report

    wire = WireSink(Metrics())
    ch = MemoryChannel()
    wire.subscribe(Subscriber(ch, "packed", "cbor"))
    wire.on_emotion(emotion_report(), MessageMeta(SESSION, T0, 3))
    assert ch.data[0]["type"] == "emotion_update" and ch.data[0]["sequence"] == 3  # only frames have a packed form
    expected = envelopes.emotion_update(emotion_report(), SESSION, T0, 3).encoded("named", "cbor")
    assert cbor2.loads(expected) == ch.data[0]
