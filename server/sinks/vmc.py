"""The VMC sink: each avatar frame as one OSC bundle over UDP to a VMC receiver (VSeeFace,
VNyan, Warudo, VMagicMirror, EVMC4U; docs/vmc.md), in the order the protocol's receivers
expect: `/VMC/Ext/OK`, `/VMC/Ext/T`, `/VMC/Ext/Root/Pos`, `/VMC/Ext/Bone/Pos` per bone,
`/VMC/Ext/Blend/Val` per name of the receiver's profile, and `/VMC/Ext/Blend/Apply` last.

OSC is encoded by python-osc, here only. Sending never blocks the output clock: the socket is
non-blocking, a datagram the kernel cannot take now is dropped and counted. Where frames go
is the operator's choice (AVATAR_DRIVER_VMC_TARGETS), never a remote client's.
"""

from __future__ import annotations

import socket
import time

import numpy as np
from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder

from avatar_mapping.avatar_frame import AvatarFrame
from avatar_mapping.emotion_report import EmotionReport
from avatar_mapping.vmc import blend_values, bone_poses

from ..metrics import Metrics
from .base import FrameMeta, MessageMeta

DEFAULT_PORT = 39539


def parse_target(text: str) -> tuple[str, int]:
    """`host:port` (or `host`, the protocol's port 39539) as an address."""
    host, _, port = text.strip().rpartition(":") if ":" in text else (text.strip(), "", str(DEFAULT_PORT))
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"a VMC target is host:port, not {text!r}")
    return host, int(port)


def _message(address: str, *args: str | int | float) -> OscMessageBuilder:
    builder = OscMessageBuilder(address=address)
    for arg in args:
        builder.add_arg(arg)
    return builder


class VmcSink:
    def __init__(self, target: tuple[str, int], profile: str, metrics: Metrics, calibrated: bool = False):
        self.target = target
        self.profile = profile
        self.metrics = metrics
        self.calibrated = calibrated
        self._emotion: np.ndarray | None = None
        self._started = time.monotonic()
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.setblocking(False)
        blend_values(AvatarFrame((), np.zeros(0), (), np.zeros((0, 4))), profile)  # an unknown profile fails here

    def bundle(self, frame: AvatarFrame) -> bytes:
        """The frame as one OSC bundle."""
        bundle = OscBundleBuilder(IMMEDIATELY)
        # loaded=1; calibration state 3 (calibrated) or 0; calibration mode 0 (normal); tracking 1/0
        bundle.add_content(_message("/VMC/Ext/OK", 1, 3 if self.calibrated else 0, 0, int(frame.face_present)).build())
        bundle.add_content(_message("/VMC/Ext/T", float(time.monotonic() - self._started)).build())
        bundle.add_content(_message("/VMC/Ext/Root/Pos", "root", 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0).build())
        for pose in bone_poses(frame):
            bundle.add_content(
                _message("/VMC/Ext/Bone/Pos", pose.name, *map(float, pose.position), *map(float, pose.rotation)).build()
            )
        for name, value in blend_values(frame, self.profile, self._emotion):
            bundle.add_content(_message("/VMC/Ext/Blend/Val", name, float(value)).build())
        bundle.add_content(_message("/VMC/Ext/Blend/Apply").build())
        return bundle.build().dgram

    def send(self, frame: AvatarFrame) -> None:
        """The frame to the receiver now, or dropped (counted) when it cannot go at once."""
        try:
            self._socket.sendto(self.bundle(frame), self.target)
            self.metrics.frames_out.labels("vmc_bundle").inc()
        except OSError:  # BlockingIOError: the kernel's buffer is full; or nobody can be reached
            self.metrics.dropped.labels("vmc_unsent").inc()

    def set_emotion_scores(self, scores: np.ndarray | None) -> None:
        """The scores over EMOTIONS that the emotion presets show from now on (None: none)."""
        self._emotion = scores

    def on_frame(self, frame: AvatarFrame, meta: FrameMeta) -> None:
        if meta.variant in (None, "A"):  # an A/B session's compared variant is not the avatar's
            self.send(frame)

    def on_emotion(self, report: EmotionReport, meta: MessageMeta) -> None:
        self.set_emotion_scores(report.scores if report.emotion_inference else None)

    def on_transcript(self, result: object, meta: MessageMeta) -> None:
        pass

    def close(self) -> None:
        self._socket.close()
