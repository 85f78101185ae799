"""What edges and workers say to each other (server/cluster/relay.py): round trips, and what
a process that cannot read a relay message gets."""

import cbor2
import pytest

from server.cluster.relay import (
    Claim,
    Claimed,
    Control,
    DirectoryEntry,
    Event,
    Relayed,
    RelayError,
    as_client_message,
    as_relayed,
)


@pytest.mark.parametrize(
    "message",
    [
        Claim("e1-3", "e1", b"\xa1", False),
        Claim("e1-4", "e1", b'{"type":"hello"}', True, "abcdefgh1234", 812),
        Claimed("w1", "abcdefgh1234", "packed", "json"),
        Claimed("w1", close_code=1008),
        Control("stream", "named", "cbor"),
        Control("resume", conn="e2-1", edge="e2", token="t" * 32),
        Control("resume", conn="e2-1", edge="e2", token="t" * 32, server_token="the server's token"),
        Event("paused", "ended"),
        DirectoryEntry(
            "w1",
            "e1",
            "e1-3",
            {"session_id": "abcdefgh1234", "channels": ["jawOpen"]},
            {"strategy": "hybrid", "compare": None},
            True,
        ),
    ],
)
def test_relay_messages_round_trip(message: Relayed) -> None:
    assert type(message).decode(message.encode()) == message


def test_an_unreadable_relay_message_is_a_relay_error_not_a_crash() -> None:
    for data in (
        b"\xff\xff",
        cbor2.dumps([1, 2]),
        cbor2.dumps({"v": 99, "kind": "ended"}),
        cbor2.dumps({"v": 1, "kind": "ended", "surprise": 1}),
    ):
        with pytest.raises(RelayError):
            Event.decode(data)


def test_client_messages_cross_as_they_came() -> None:
    for message in (b"\xa1\x01\x02", '{"type": "bye"}'):
        assert as_client_message(*as_relayed(message)) == message


def test_a_claim_in_an_encoding_that_is_none_is_unreadable() -> None:
    """The edge subscribes its client in the claimed encoding: only cbor or json may arrive."""
    odd = cbor2.dumps({"v": 1, "worker": "w1", "session_id": "s", "format": "named", "encoding": "xml"})
    with pytest.raises(RelayError, match="neither cbor nor json"):
        Claimed.decode(odd)
    assert Claimed.decode(Claimed("w1", "s", "packed", "json").encode()).encoding == "json"
