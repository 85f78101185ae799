"""The bounded OSC parser (server/inference/osc_packet.py): the datagrams of issue 24 that hung
python-osc's parser (element size −4), recursed past Python's stack (3000-deep bundles) or logged
a line per byte (zero-size elements) are refused with a reason at once; what python-osc builds
parses to what python-osc reads; and hypothesis (10,000 cases each; 1,000 in `make test-fast`)
feeds random bytes and mutated bundles, every parse under a deadline: a list or OscPacketError."""

from __future__ import annotations

import math
import struct
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pythonosc.osc_bundle import OscBundle
from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message import OscMessage as PyOscMessage
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket

from server.inference.osc_packet import (
    BAD_ELEMENT_SIZE,
    MALFORMED,
    REASONS,
    TOO_DEEP,
    TOO_MANY_MESSAGES,
    UNSUPPORTED_TYPE,
    OscLimits,
    OscMessage,
    OscPacketError,
    parse,
)
from tests.support.vmc import (
    BUNDLE_HEADER,
    HANG_DATAGRAM,
    blend_flood,
    deadline,
    nested_bundle,
    osc,
    tracker_frame,
    zero_size_elements,
)

PARSE_DEADLINE_S = 1.0  # a parse takes microseconds to milliseconds; a hang fails here instead of freezing the run
DEFAULT_LIMITS = OscLimits()
FUZZ = settings(deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])


def refused(data: bytes, limits: OscLimits = DEFAULT_LIMITS) -> str:
    """The reason ``data`` is refused (a parse that returns fails the test)."""
    with deadline(PARSE_DEADLINE_S), pytest.raises(OscPacketError) as error:
        parse(data, limits)
    return error.value.reason


def element(content: bytes) -> bytes:
    return struct.pack(">i", len(content)) + content


# -- the attacks of issue 24 -----------------------------------------------------------------
def test_an_element_of_size_minus_4_is_refused_at_once() -> None:
    assert refused(HANG_DATAGRAM) == BAD_ELEMENT_SIZE


@pytest.mark.parametrize("size", [0, -4, -(2**31), 3, 6, 2**31 - 1, 8])  # 8: more than the 4 bytes left
def test_element_sizes_must_be_positive_aligned_and_within_the_bundle(size: int) -> None:
    assert refused(BUNDLE_HEADER + struct.pack(">i", size) + b"/a\x00\x00") == BAD_ELEMENT_SIZE


def test_zero_size_elements_are_one_refusal_not_a_line_per_byte(caplog: pytest.LogCaptureFixture) -> None:
    assert refused(zero_size_elements(16_000)) == BAD_ELEMENT_SIZE
    assert caplog.records == []


def test_a_3000_deep_bundle_is_refused_without_recursing() -> None:
    assert refused(nested_bundle(3000, osc("/VMC/Ext/Blend/Apply"))) == TOO_DEEP


def test_nesting_up_to_the_limit_is_taken() -> None:
    apply = OscMessage("/VMC/Ext/Blend/Apply", ())
    assert parse(nested_bundle(8, osc("/VMC/Ext/Blend/Apply")), OscLimits(max_depth=8)) == [apply]
    assert refused(nested_bundle(9, osc("/VMC/Ext/Blend/Apply")), OscLimits(max_depth=8)) == TOO_DEEP


def test_a_datagram_holds_at_most_max_messages() -> None:
    assert len(parse(blend_flood(1024), OscLimits(max_messages=1024))) == 1024
    assert refused(blend_flood(1500), OscLimits(max_messages=1024)) == TOO_MANY_MESSAGES


# -- what is not OSC -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", MALFORMED),
        (b"\x00garbage that is not OSC", MALFORMED),
        (b"/VMC/Ext/Blend/Apply", MALFORMED),  # no NUL
        (b"/ab\x00\x01\x00\x00\x00", MALFORMED),  # NUL padding holds a 1
        (b"/a\x00\x00,f\x00\x00\x00\x00", MALFORMED),  # a float with 2 of its 4 bytes
        (b"/a\x00\x00,i\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00", MALFORMED),  # bytes after the arguments
        (b"/a\x00\x00x\x00\x00\x00", MALFORMED),  # the type tag string does not start with ","
        (b"/a\x00\x00,s\x00\x00\xff\xfe\x00\x00", MALFORMED),  # not UTF-8
        (b"/a\x00\x00,b\x00\x00\xff\xff\xff\xfc", MALFORMED),  # a blob of size −4
        (b"/a\x00\x00,b\x00\x00\x00\x00\x00\x08abcd", MALFORMED),  # a blob longer than the message
        (b"/a\x00\x00,[]\x00", UNSUPPORTED_TYPE),
        (b"/a\x00\x00,m\x00\x00\x00\x00\x00\x00", UNSUPPORTED_TYPE),
        (b"#bundle\x00\x00\x00", MALFORMED),  # shorter than its header
        (BUNDLE_HEADER + element(b"x\x00\x00\x00"), MALFORMED),  # an element neither message nor bundle
        (BUNDLE_HEADER + b"\x00\x00", BAD_ELEMENT_SIZE),  # a size cut short
        (BUNDLE_HEADER + element(b"/a\x00\x00,i\x00\x00"), MALFORMED),  # the int is past its element's end
    ],
)
def test_what_is_not_osc_gets_a_specific_reason(data: bytes, reason: str) -> None:
    assert refused(data) == reason


def test_every_type_tag_and_a_message_without_type_tags() -> None:
    data = (
        b"/x\x00\x00,ifdsbTFNht\x00"
        + struct.pack(">i", -7)
        + struct.pack(">f", 0.5)
        + struct.pack(">d", -2.25)
        + b"hi\x00\x00"
        + struct.pack(">i", 3)
        + b"abc\x00"
        + struct.pack(">q", -(2**40))
        + struct.pack(">Q", 2**63 + 1)
    )
    assert parse(data) == [OscMessage("/x", (-7, 0.5, -2.25, "hi", b"abc", True, False, None, -(2**40), 2**63 + 1))]
    assert parse(b"/VMC/Ext/Blend/Apply\x00\x00\x00\x00") == [OscMessage("/VMC/Ext/Blend/Apply", ())]


def test_a_tracker_frame() -> None:
    messages = parse(tracker_frame(0.5, 0.0))
    assert [m.address for m in messages] == ["/VMC/Ext/Blend/Val"] * 2 + ["/VMC/Ext/Bone/Pos", "/VMC/Ext/Blend/Apply"]
    assert messages[0].args == ("JawOpen", 0.5)


# -- round trip: what python-osc builds, we read as python-osc reads it ------------------------
# A message: (address, [(value, type tag), …]); a bundle: ("#bundle", [packet, …]).
Packet = tuple[str, list[Any]]
TEXT = st.text(alphabet="abcXYZ019/_-. é漢\U0001f600", max_size=10)  # ASCII and 2-, 3-, 4-byte UTF-8
ARGS = st.one_of(
    st.integers(-(2**31), 2**31 - 1).map(lambda v: (v, "i")),
    st.floats(width=32).map(lambda v: (v, "f")),
    st.floats().map(lambda v: (v, "d")),
    st.integers(-(2**63), 2**63 - 1).map(lambda v: (v, "h")),
    TEXT.map(lambda v: (v, "s")),
    st.binary(min_size=1, max_size=9).map(lambda v: (v, "b")),  # python-osc builds no empty blob
    st.sampled_from([(True, "T"), (False, "F"), (None, "N")]),
)
MESSAGES = st.tuples(TEXT.map(lambda a: "/" + a), st.lists(ARGS, max_size=5))
PACKETS = st.recursive(
    MESSAGES, lambda inner: st.lists(inner, max_size=3).map(lambda items: ("#bundle", items)), max_leaves=5
)


def build(packet: Packet) -> bytes:
    dgram: bytes = _builder(packet).dgram
    return dgram


def _builder(packet: Packet) -> OscBundle | PyOscMessage:
    head, items = packet
    if head == "#bundle":
        bundle = OscBundleBuilder(IMMEDIATELY)
        for item in items:
            bundle.add_content(_builder(item))
        return bundle.build()
    message = OscMessageBuilder(address=head)
    for value, tag in items:
        message.add_arg(value, tag)
    return message.build()


def same(ours: object, theirs: object) -> bool:
    """Equal, NaN equal to NaN (floats: both parsers read the same bytes)."""
    if isinstance(ours, float) and isinstance(theirs, float) and math.isnan(ours):
        return math.isnan(theirs)
    return type(ours) is type(theirs) and ours == theirs


@FUZZ
@given(PACKETS)
def test_what_python_osc_builds_we_read_as_python_osc_reads_it(packet: Packet) -> None:
    data = build(packet)
    with deadline(PARSE_DEADLINE_S):
        ours = parse(data, OscLimits(max_depth=64))
    theirs: list[PyOscMessage] = [timed.message for timed in OscPacket(data).messages]
    assert [m.address for m in ours] == [m.address for m in theirs]
    for mine, reference in zip(ours, theirs, strict=True):
        assert len(mine.args) == len(reference.params)
        assert all(same(a, b) for a, b in zip(mine.args, reference.params, strict=True)), (mine, reference)


# -- fuzz: random bytes and mutated bundles give messages or a reason, in time ---------------
def parsed_or_refused(data: bytes, limits: OscLimits) -> None:
    with deadline(PARSE_DEADLINE_S):
        try:
            messages = parse(data, limits)
        except OscPacketError as e:
            assert e.reason in REASONS
            return
    assert len(messages) <= limits.max_messages
    assert all(m.address.startswith("/") for m in messages)


@FUZZ
@given(st.sampled_from([b"", b"/", b"#bundle\x00", BUNDLE_HEADER]), st.binary(max_size=256))
def test_random_bytes_give_messages_or_a_reason(prefix: bytes, tail: bytes) -> None:
    parsed_or_refused(prefix + tail, OscLimits(max_depth=4, max_messages=16))


HOSTILE_INT32 = st.sampled_from([-4, -1, 0, 1, 2, 3, 4, 8, 16, 2**31 - 1, -(2**31), 0x2362756E, 0x2F000000])
EVERY_TYPE = ("/x", [(-7, "i"), (0.5, "f"), (-2.25, "d"), ("hi", "s"), (b"abc", "b"), (True, "T"), (False, "F"),
                     (None, "N"), (-(2**40), "h")])  # fmt: skip
# Valid datagrams to mutate: a tracker's frame, nested bundles, every type, a bare message.
CORPUS = [
    tracker_frame(0.5, 10.0),
    blend_flood(3),
    nested_bundle(3, tracker_frame(0.2, -5.0)),
    build(("#bundle", [EVERY_TYPE, ("#bundle", [("/VMC/Ext/Blend/Apply", [])]), ("/VMC/Ext/OK", [(1, "i")])])),
    build(("#bundle", [])),
    osc("/VMC/Ext/Blend/Val", "JawOpen", 0.5),
]
EDITS = st.one_of(
    st.tuples(st.just("int32"), st.integers(0, 10**6), HOSTILE_INT32),
    st.tuples(st.just("byte"), st.integers(0, 10**6), st.integers(0, 255)),
    st.tuples(st.just("cut"), st.integers(0, 10**6), st.just(0)),
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.integers(1, 7)),
)


@FUZZ
@given(st.sampled_from(CORPUS), st.lists(EDITS, min_size=1, max_size=4))
def test_mutated_bundles_give_messages_or_a_reason(original: bytes, edits: list[tuple[str, int, int]]) -> None:
    data = bytearray(original)
    for kind, at, value in edits:
        at %= len(data) + 1
        if kind == "int32":
            at -= at % 4  # sizes sit on 4-byte boundaries
            data[at : at + 4] = struct.pack(">i", value)
        elif kind == "byte" and at < len(data):
            data[at] = value
        elif kind == "cut":
            del data[at:]
        elif kind == "insert":
            data[at:at] = b"\x00" * value
    parsed_or_refused(bytes(data), OscLimits(max_depth=4, max_messages=16))
