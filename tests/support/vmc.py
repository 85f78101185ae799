"""What a VMC tracker (an ARKit face app) sends, built with python-osc; what an attacker sends
to a VMC listener; and a deadline that turns a hang into a failure."""

from __future__ import annotations

import signal
import struct
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message_builder import ArgValue, OscMessageBuilder

from avatar_mapping.rotation import quat_from_euler
from avatar_mapping.vmc import gltf_to_unity

# Issue 24: a bundle whose one element says its size is −4; python-osc's parser looped forever on it.
HANG_DATAGRAM = bytes.fromhex("2362756e646c65000000000000000001fffffffc")
BUNDLE_HEADER = b"#bundle\x00" + b"\x00" * 7 + b"\x01"  # "immediately"


def tracker_frame(jaw: float, yaw_deg: float) -> bytes:
    """What an ARKit tracker sends: perfect-sync blend values, the head, then Apply."""
    bundle = OscBundleBuilder(IMMEDIATELY)
    messages: tuple[tuple[str, list[str | float]], ...] = (
        ("/VMC/Ext/Blend/Val", ["JawOpen", jaw]),
        ("/VMC/Ext/Blend/Val", ["EyeBlinkLeft", 0.1]),
        ("/VMC/Ext/Bone/Pos", ["Head", 0.0, 0.0, 0.0, *gltf_to_unity(quat_from_euler(yaw_deg, 0, 0))]),
        ("/VMC/Ext/Blend/Apply", []),
    )
    for address, args in messages:
        message = OscMessageBuilder(address=address)
        for a in args:
            message.add_arg(a)
        bundle.add_content(message.build())
    return bundle.build().dgram


def osc(address: str, *args: ArgValue) -> bytes:
    """One OSC message."""
    builder = OscMessageBuilder(address=address)
    for a in args:
        builder.add_arg(a)
    return builder.build().dgram


def blend_flood(n: int) -> bytes:
    """One bundle of ``n`` blend values with ``n`` different names (1500 of them: ~60 KB)."""
    elements = b"".join(_element(osc("/VMC/Ext/Blend/Val", f"Clip{i}", 0.5)) for i in range(n))
    return BUNDLE_HEADER + elements


def nested_bundle(depth: int, inner: bytes) -> bytes:
    """``inner`` inside ``depth`` bundles, each holding the next as its one element."""
    packet = inner
    for _ in range(depth):
        packet = BUNDLE_HEADER + _element(packet)
    return packet


def zero_size_elements(n: int) -> bytes:
    """A bundle of ``n`` elements that say their size is 0 (python-osc warned per byte)."""
    return BUNDLE_HEADER + b"\x00\x00\x00\x00" * n


def _element(content: bytes) -> bytes:
    return struct.pack(">i", len(content)) + content


class DeadlineExceeded(Exception):
    pass


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raises DeadlineExceeded in the block when it runs longer than ``seconds``: a hang (a
    pure-Python loop, the event loop included) becomes a failure. Main thread only (SIGALRM);
    an outer timer — pytest-timeout's — is put back afterwards."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise DeadlineExceeded(f"still running after {seconds} s")

    previous_handler = signal.signal(signal.SIGALRM, expire)
    previous_left, previous_interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    started = time.monotonic()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler)
        if previous_left > 0:
            left = max(1e-3, previous_left - (time.monotonic() - started))
            signal.setitimer(signal.ITIMER_REAL, left, previous_interval)
