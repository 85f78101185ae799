"""What a VMC tracker (an ARKit face app) sends, built with python-osc."""

from __future__ import annotations

from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder

from avatar_mapping.rotation import quat_from_euler
from avatar_mapping.vmc import gltf_to_unity


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
