import base64
import json

import cbor2
import pytest

from server.protocol.codec import Envelope, ProtocolError, as_encoding, decode, encode, payload_bytes


def test_cbor_and_json_carry_the_same_message() -> None:
    env = Envelope("video_frame", {"image": b"\x89PNG..", "capture_ms": 5}, None, 10, 2)
    c, _ = decode(encode(env, "cbor"))
    j, enc = decode(encode(env, "json"))
    assert enc == "json" and c.payload["image"] == payload_bytes(j.payload, "image", "json") == b"\x89PNG.."
    assert (c.type, c.timestamp_ms, c.sequence) == (j.type, j.timestamp_ms, j.sequence) == ("video_frame", 10, 2)


def test_json_never_emits_nan() -> None:
    assert json.loads(encode(Envelope("error", {"x": float("nan")}), "json"))["payload"]["x"] is None


@pytest.mark.parametrize(
    "data, message",
    [
        (b"\xff\xff\xff", "not valid CBOR"),
        (cbor2.dumps([1, 2]), "must be a map"),
        (cbor2.dumps({"payload": {}}), "no string 'type'"),
        (cbor2.dumps({"type": "hello", "payload": [1]}), "'payload' must be a map"),
        (cbor2.dumps({"type": "hello", "sequence": "7"}), "'sequence' must be an integer"),
        ("{not json", "not valid JSON"),
        (b"", "not valid CBOR"),
    ],
)
def test_malformed_messages_raise_bad_message(data: bytes | str, message: str) -> None:
    with pytest.raises(ProtocolError, match=message) as e:
        decode(data)
    assert e.value.code == "bad_message"


def test_payload_bytes_errors_are_specific() -> None:
    with pytest.raises(ProtocolError, match="base64"):
        payload_bytes({"pcm": "***"}, "pcm", "json")
    with pytest.raises(ProtocolError, match="byte string"):
        payload_bytes({"pcm": 5}, "pcm", "cbor")
    assert payload_bytes({"pcm": base64.b64encode(b"ab").decode()}, "pcm", "json") == b"ab"


def test_integral_floats_are_accepted_for_integer_fields() -> None:
    env, _ = decode(cbor2.dumps({"type": "bye", "timestamp_ms": 1.7e12, "sequence": 3.0}))
    assert env.timestamp_ms == 1_700_000_000_000 and env.sequence == 3
    assert isinstance(env.timestamp_ms, int)  # not the float it was sent as
    with pytest.raises(ProtocolError, match="integer"):
        decode(cbor2.dumps({"type": "bye", "sequence": 2.5}))


def test_a_self_described_message_is_accepted_and_trailing_bytes_are_not() -> None:
    """RFC 8949 §3.4.6: tag 55799 marks CBOR and changes nothing. A second item after the
    message used to be ignored silently."""
    env, _ = decode(cbor2.dumps(cbor2.CBORTag(55799, {"type": "hello", "payload": {"consent": {"camera": True}}})))
    assert env.type == "hello" and env.payload == {"consent": {"camera": True}} and type(env.payload) is dict
    with pytest.raises(ProtocolError, match="1 bytes after its CBOR item") as e:
        decode(cbor2.dumps({"type": "bye"}) + b"\x00")
    assert e.value.code == "bad_message"


def test_structures_that_contain_themselves_or_nest_too_deep_are_refused() -> None:
    """CBOR shared references (tags 28/29) can make a value contain itself; JSON 100,000 levels
    deep overflowed the parser: both used to drop the socket with a traceback."""
    loop: list[object] = []
    loop.append(loop)
    for data in (
        cbor2.dumps({"type": "hello", "payload": {"x": loop}}, value_sharing=True),
        "[" * 100_000 + "]" * 100_000,
        cbor2.dumps({"type": "hello", "payload": {"a": [[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]}}),
    ):
        with pytest.raises(ProtocolError) as e:
            decode(data)
        assert e.value.code == "bad_message"


def test_only_the_two_encodings_are_encodings() -> None:
    assert as_encoding("cbor") == "cbor" and as_encoding("json") == "json"
    assert as_encoding("CBOR") is None and as_encoding(None) is None and as_encoding(b"json") is None
