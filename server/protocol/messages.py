"""Typed payloads of what clients send in protocol v1, parsed and validated (a specific
ProtocolError with the reason otherwise). What the server sends is built in envelopes.py."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Literal

from avatar_mapping.strategies import DEFAULT_STRATEGY, STRATEGIES
from avatar_mapping.vmc import PROFILES as VMC_PROFILES

from .codec import Encoding, ProtocolError, payload_bytes
from .constants import CALIBRATION_GROUPS, CalibrationPreset, ErrorCode

FORMATS = ("named", "packed")
AUDIO_RATES_HZ = (16000, 22050, 44100, 48000)
# capture_ms is the client's clock in milliseconds: any value a double holds exactly.
MAX_CAPTURE_MS = 2**53
# hello.session_name: the alphabet of generated session ids; at least 8 characters, since
# whoever knows a session's name may watch it (with the watch token, where one is set).
SESSION_NAME = re.compile(r"[A-Za-z0-9_-]{8,64}")


@dataclass(frozen=True)
class Hello:
    camera: bool
    microphone: bool
    rig: str
    format: Literal["named", "packed"]
    rate_hz: float
    strategy: str = DEFAULT_STRATEGY
    mirror: bool = False
    user_id: str | None = None
    token: str | None = None
    strategy_params: dict[str, Any] | None = None
    adaptive: bool = False
    # A/B: a second strategy streamed as variant "B" from the same input.
    compare: Compare | None = None
    # Lip-sync: "realtime" (spectral classifier, ~23 ms) or "lookahead" (streamed phone
    # recognition read delay_ms behind; the whole avatar is delayed to match).
    lipsync_delay_ms: float | None = None
    # consent.record: the session's feature stream (never media) is recorded for A/B replays.
    record: bool = False
    # A stable, client-chosen session id: watchers keep the stream across reconnects.
    session_name: str | None = None
    # VMC out (docs/vmc.md): one of the operator's configured targets, and the receiver's names.
    vmc: VmcOut | None = None
    # Where the face comes from: "camera" (video_frame messages, a WebRTC track) or "vmc" (a
    # VMC stream into `serve --vmc-listen`, e.g. an iPhone ARKit tracker).
    source: Literal["camera", "vmc"] = "camera"

    @classmethod
    def parse(cls, p: dict[str, Any], default_rate_hz: float, max_rate_hz: float) -> Hello:
        consent = p.get("consent")
        if not isinstance(consent, dict):
            raise ProtocolError(ErrorCode.BAD_HELLO, "hello needs 'consent': {camera: bool, microphone: bool}")
        camera, microphone = consent.get("camera", False), consent.get("microphone", False)
        record = consent.get("record", False)
        if not isinstance(record, bool):
            raise ProtocolError(ErrorCode.BAD_HELLO, "consent.record must be true or false")
        if not isinstance(camera, bool) or not isinstance(microphone, bool):
            raise ProtocolError(ErrorCode.BAD_HELLO, "consent.camera and consent.microphone must be true or false")
        fmt = p.get("format", "named")
        if fmt not in FORMATS:
            raise ProtocolError(ErrorCode.BAD_HELLO, f"format must be one of {list(FORMATS)}, got {_shown(fmt)}")
        rate = p.get("rate_hz", default_rate_hz)
        if not _number_in(rate, 1.0, max_rate_hz):
            raise ProtocolError(
                ErrorCode.BAD_HELLO, f"rate_hz must be a number from 1 to {max_rate_hz:g}, got {_shown(rate)}"
            )
        strategy = p.get("strategy", DEFAULT_STRATEGY)
        if not _strategy_name(strategy):
            raise ProtocolError(
                ErrorCode.BAD_HELLO, f"unknown strategy {_shown(strategy)}; available: {sorted(STRATEGIES)}"
            )
        params = p.get("strategy_params")
        if params is not None and not isinstance(params, dict):
            raise ProtocolError(ErrorCode.BAD_HELLO, "strategy_params must be a map")
        adaptive = p.get("adaptive", False)
        if not isinstance(adaptive, bool):
            raise ProtocolError(ErrorCode.BAD_HELLO, "adaptive must be true or false")
        rig = p.get("rig", "arkit52")
        mirror = p.get("mirror", False)
        user_id, token = p.get("user_id"), p.get("token")
        if not isinstance(rig, str) or not isinstance(mirror, bool):
            raise ProtocolError(ErrorCode.BAD_HELLO, "rig must be a string and mirror true or false")
        if user_id is not None and (not isinstance(user_id, str) or not 0 < len(user_id) <= 128):
            raise ProtocolError(ErrorCode.BAD_HELLO, "user_id must be a string of 1 to 128 characters")
        if token is not None and not isinstance(token, str):
            raise ProtocolError(ErrorCode.BAD_HELLO, "token must be a string")
        compare = Compare.parse(p["compare"], ErrorCode.BAD_HELLO) if p.get("compare") is not None else None
        name = p.get("session_name")
        if name is not None and (not isinstance(name, str) or not SESSION_NAME.fullmatch(name)):
            raise ProtocolError(
                ErrorCode.BAD_HELLO, f"session_name must be 8 to 64 letters, digits, '-' or '_', got {_shown(name)}"
            )
        source = p.get("source", "camera")
        if source not in ("camera", "vmc"):
            raise ProtocolError(ErrorCode.BAD_HELLO, f"source must be 'camera' or 'vmc', got {_shown(source)}")
        vmc = VmcOut.parse(p["vmc"]) if p.get("vmc") is not None else None
        return cls(
            camera,
            microphone,
            rig,
            fmt,
            float(rate),
            strategy,
            mirror,
            user_id,
            token,
            params,
            adaptive,
            compare,
            _lipsync(p.get("lipsync")),
            record,
            name,
            vmc,
            source,
        )


def _lipsync(p: Any) -> float | None:
    """hello.lipsync: {mode: "realtime"} (default) or {mode: "lookahead", delay_ms: 100..1000}."""
    if p is None:
        return None
    if not isinstance(p, dict) or p.get("mode") not in ("realtime", "lookahead"):
        raise ProtocolError(ErrorCode.BAD_HELLO, "lipsync must be {mode: 'realtime'} or {mode: 'lookahead', delay_ms}")
    if p["mode"] == "realtime":
        return None
    delay = p.get("delay_ms", 300)
    if isinstance(delay, bool) or not isinstance(delay, (int, float)) or not 100 <= delay <= 1000:
        raise ProtocolError(
            ErrorCode.BAD_HELLO, f"lipsync.delay_ms must be a number from 100 to 1000, got {_shown(delay)}"
        )
    return float(delay)


@dataclass(frozen=True)
class VmcOut:
    """hello.vmc: send the session's frames as VMC to ``target`` (one of the server's
    AVATAR_DRIVER_VMC_TARGETS: a client never chooses where UDP goes) with ``profile``'s names."""

    target: str
    profile: str = "perfect_sync"

    @classmethod
    def parse(cls, p: Any) -> VmcOut:
        if not isinstance(p, dict) or not isinstance(p.get("target"), str):
            raise ProtocolError(ErrorCode.BAD_HELLO, "vmc needs {target: one of the server's VMC targets, profile?}")
        profile = p.get("profile", "perfect_sync")
        if profile not in VMC_PROFILES:
            raise ProtocolError(
                ErrorCode.BAD_HELLO, f"vmc.profile must be one of {list(VMC_PROFILES)}, got {_shown(profile)}"
            )
        return cls(p["target"], profile)


@dataclass(frozen=True)
class Compare:
    strategy: str
    strategy_params: dict[str, Any]

    @classmethod
    def parse(cls, p: Any, code: ErrorCode) -> Compare:
        if not isinstance(p, dict) or not _strategy_name(p.get("strategy")):
            raise ProtocolError(code, f"compare needs {{strategy: one of {sorted(STRATEGIES)}, strategy_params?}}")
        params = p.get("strategy_params", {})
        if not isinstance(params, dict):
            raise ProtocolError(code, "compare.strategy_params must be a map")
        return cls(p["strategy"], params)


@dataclass(frozen=True)
class VideoFrame:
    capture_ms: int
    image: bytes | None = None
    rgb: bytes | None = None
    width: int = 0
    height: int = 0

    @classmethod
    def parse(cls, p: dict[str, Any], encoding: Encoding, fallback_ms: int) -> VideoFrame:
        capture_ms = _capture_ms(p, fallback_ms)
        if "image" in p:
            return cls(capture_ms, image=payload_bytes(p, "image", encoding))
        if "rgb" in p:
            w, h = p.get("width"), p.get("height")
            if not (isinstance(w, int) and isinstance(h, int)):
                raise ProtocolError(ErrorCode.BAD_IMAGE, "raw 'rgb' frames need integer 'width' and 'height'")
            return cls(capture_ms, rgb=payload_bytes(p, "rgb", encoding), width=w, height=h)
        raise ProtocolError(
            ErrorCode.BAD_IMAGE, "video_frame needs 'image' (JPEG/PNG/WebP bytes) or 'rgb' with width/height"
        )


@dataclass(frozen=True)
class AudioChunk:
    capture_ms: int
    pcm: bytes
    sample_rate_hz: int

    @classmethod
    def parse(cls, p: dict[str, Any], encoding: Encoding, fallback_ms: int) -> AudioChunk:
        pcm = payload_bytes(p, "pcm", encoding)
        rate = p.get("sample_rate_hz")
        if rate not in AUDIO_RATES_HZ:
            raise ProtocolError(
                ErrorCode.BAD_AUDIO, f"sample_rate_hz must be one of {list(AUDIO_RATES_HZ)}, got {_shown(rate)}"
            )
        if len(pcm) % 2:
            raise ProtocolError(ErrorCode.BAD_AUDIO, "pcm must be s16le mono: an even number of bytes")
        return cls(_capture_ms(p, fallback_ms), pcm, int(rate))


@dataclass(frozen=True)
class Configure:
    """Live changes to a session; absent fields stay as they are."""

    strategy: str | None = None
    strategy_params: dict[str, Any] | None = None
    adaptive: bool | None = None
    adaptive_frozen: bool | None = None
    compare: Compare | None = None
    stop_compare: bool = False

    @classmethod
    def parse(cls, p: dict[str, Any]) -> Configure:
        strategy = p.get("strategy")
        if strategy is not None and not _strategy_name(strategy):
            raise ProtocolError(
                ErrorCode.BAD_CONFIGURE, f"unknown strategy {_shown(strategy)}; available: {sorted(STRATEGIES)}"
            )
        params = p.get("strategy_params")
        if params is not None and not isinstance(params, dict):
            raise ProtocolError(ErrorCode.BAD_CONFIGURE, "strategy_params must be a map")
        flags = {k: p.get(k) for k in ("adaptive", "adaptive_frozen")}
        if any(v is not None and not isinstance(v, bool) for v in flags.values()):
            raise ProtocolError(ErrorCode.BAD_CONFIGURE, "adaptive and adaptive_frozen must be true or false")
        compare = Compare.parse(p["compare"], ErrorCode.BAD_CONFIGURE) if p.get("compare") is not None else None
        stop_compare = "compare" in p and p["compare"] is None
        flagged = any(v is not None for v in flags.values())
        if not (strategy or params is not None or flagged or compare or stop_compare):
            raise ProtocolError(
                ErrorCode.BAD_CONFIGURE,
                "configure needs strategy, strategy_params, adaptive, adaptive_frozen or compare",
            )
        return cls(strategy, params, flags["adaptive"], flags["adaptive_frozen"], compare, stop_compare)


@dataclass(frozen=True)
class CalibrationStart:
    user_id: str | None
    steps: tuple[str, ...] | None  # the steps named (groups expanded); None: those of `preset`
    prepare_s: float
    duration_scale: float
    preset: CalibrationPreset | None = None  # None: no `steps` given (neutral with a camera)

    @classmethod
    def parse(
        cls, p: dict[str, Any], face_steps: tuple[str, ...], voice_steps: tuple[str, ...] = ()
    ) -> CalibrationStart:
        """`steps` is "neutral" (the default: one click), "all", or a list of step and group
        names (CALIBRATION_GROUPS); face steps, when asked for, start with 'neutral'; voice
        steps may come alone."""
        user_id = p.get("user_id")
        if user_id is not None and (not isinstance(user_id, str) or not 0 < len(user_id) <= 128):
            raise ProtocolError(ErrorCode.BAD_CALIBRATION, "user_id must be a string of 1 to 128 characters")
        steps = p.get("steps")
        preset = None
        if isinstance(steps, str) and steps in tuple(CalibrationPreset):
            preset, steps = CalibrationPreset(steps), None
        elif steps is not None:
            known = face_steps + voice_steps + tuple(CALIBRATION_GROUPS)
            if (
                not isinstance(steps, list)
                or not steps
                or len(steps) > len(known)
                or any(not isinstance(s, str) or s not in known for s in steps)
            ):
                raise ProtocolError(
                    ErrorCode.BAD_CALIBRATION,
                    f"steps must be {' or '.join(repr(str(x)) for x in CalibrationPreset)} "
                    f"or a list of names among {list(known)}",
                )
            named = [n for s in steps for n in CALIBRATION_GROUPS.get(s, (s,))]
            face = [s for s in named if s in face_steps]
            if face and face[0] != "neutral":
                raise ProtocolError(ErrorCode.BAD_CALIBRATION, "face steps must start with 'neutral'")
            steps = tuple(dict.fromkeys(named))
        prepare = p.get("prepare_s", 1.5)
        scale = p.get("duration_scale", 1.0)
        for name, v, lo, hi in (("prepare_s", prepare, 0.0, 10.0), ("duration_scale", scale, 0.1, 5.0)):
            if not _number_in(v, lo, hi):
                raise ProtocolError(ErrorCode.BAD_CALIBRATION, f"{name} must be a number from {lo:g} to {hi:g}")
        return cls(user_id, steps, float(prepare), float(scale), preset)


def _capture_ms(p: dict[str, Any], fallback_ms: int) -> int:
    v = p.get("capture_ms", fallback_ms)
    if not _number_in(v, -MAX_CAPTURE_MS, MAX_CAPTURE_MS):
        raise ProtocolError(
            ErrorCode.BAD_MESSAGE, f"capture_ms must be a number of milliseconds within ±2^53, got {_shown(v)}"
        )
    return int(v)


def _number_in(v: Any, lo: float, hi: float) -> bool:
    """A real number within lo..hi; an int is compared before any conversion (10**400 has no float)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    return (not isinstance(v, float) or math.isfinite(v)) and lo <= v <= hi


def _strategy_name(v: Any) -> bool:
    return isinstance(v, str) and v in STRATEGIES


def _shown(v: Any) -> str:
    """A value as an error message quotes it: short, whatever its size."""
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 10**18:
        return f"an integer of {v.bit_length()} bits"
    text = repr(v) if isinstance(v, (str, int, float, bool, type(None))) else f"a {type(v).__name__}"
    return text if len(text) <= 40 else text[:40] + "…"


@dataclass(frozen=True)
class Resume:
    """`resume`: the session this connection takes back, and the proof it may (welcome's
    `resume_token`, issued only by servers that keep sessions across connections)."""

    session_id: str
    resume_token: str

    @classmethod
    def parse(cls, p: dict[str, Any]) -> Resume:
        session_id, token = p.get("session_id"), p.get("resume_token")
        if not isinstance(session_id, str) or not SESSION_NAME.fullmatch(session_id):
            raise ProtocolError(ErrorCode.RESUME_FAILED, "resume needs the session_id its welcome gave")
        if not isinstance(token, str) or not 16 <= len(token) <= 64:
            raise ProtocolError(ErrorCode.RESUME_FAILED, "resume needs the resume_token its welcome gave")
        return cls(session_id, token)


MAX_SDP_CHARS = 64 * 1024


@dataclass(frozen=True)
class WebRtcOffer:
    """`POST /v1/webrtc/offer`: the browser's SDP offer, and what a WebSocket's `hello` carries."""

    sdp: str
    hello: dict[str, Any]

    @classmethod
    def parse(cls, body: Any) -> WebRtcOffer:
        if not isinstance(body, dict):
            raise ProtocolError(ErrorCode.BAD_MESSAGE, "the offer must be a JSON object {sdp, type, hello}")
        sdp, kind, hello = body.get("sdp"), body.get("type"), body.get("hello")
        if kind != "offer" or not isinstance(sdp, str) or not 0 < len(sdp) <= MAX_SDP_CHARS:
            raise ProtocolError(
                ErrorCode.BAD_MESSAGE,
                f"type must be 'offer' and sdp a session description of at most {MAX_SDP_CHARS} characters",
            )
        if not isinstance(hello, dict):
            raise ProtocolError(
                ErrorCode.BAD_HELLO,
                "the offer needs 'hello': the payload a WebSocket's hello carries (consent, rig, format, rate_hz, …)",
            )
        return cls(sdp, hello)
