"""Every wire constant of protocol v1, defined once: message types, packed keys, close codes,
error codes, session and wizard states.

docs/protocol.md explains them; `avatar-driver vocabulary` generates the TypeScript and C#
copies (server/protocol/codegen.py), and a test fails when those are stale. String enums
compare equal to their values, so a payload may hold either.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

from avatar_mapping.strategies import DEFAULT_STRATEGY  # hello.strategy when a client names none
from calibration.wizard import FACE_STEP_NAMES, STEP_GROUPS, VOICE_STEP_NAMES, WizardState

PROTOCOL_VERSION = 1


class MessageType(StrEnum):
    # client -> server
    HELLO = "hello"
    VIDEO_FRAME = "video_frame"
    AUDIO_CHUNK = "audio_chunk"
    CONFIGURE = "configure"
    CALIBRATION_START = "calibration_start"
    CALIBRATION_STEP = "calibration_step"  # also server -> client: wizard progress
    BYE = "bye"
    RESUME = "resume"  # instead of hello: take back a session after the connection's edge was lost
    # server -> client
    WELCOME = "welcome"
    AVATAR_FRAME = "avatar_frame"
    EMOTION_UPDATE = "emotion_update"
    TRANSCRIPT = "transcript"
    CONFIGURED = "configured"
    CALIBRATION_RESULT = "calibration_result"
    SESSION_PAUSED = "session_paused"  # to watchers: a named session's publisher left; it may come back
    ERROR = "error"


CLIENT_TYPES: tuple[MessageType, ...] = (
    MessageType.HELLO,
    MessageType.VIDEO_FRAME,
    MessageType.AUDIO_CHUNK,
    MessageType.CONFIGURE,
    MessageType.CALIBRATION_START,
    MessageType.CALIBRATION_STEP,
    MessageType.BYE,
    MessageType.RESUME,
)
SERVER_TYPES: tuple[MessageType, ...] = (
    MessageType.WELCOME,
    MessageType.AVATAR_FRAME,
    MessageType.EMOTION_UPDATE,
    MessageType.CONFIGURED,
    MessageType.CALIBRATION_STEP,
    MessageType.CALIBRATION_RESULT,
    MessageType.TRANSCRIPT,
    MessageType.SESSION_PAUSED,
    MessageType.ERROR,
)


class PackedType(IntEnum):
    """Key 0 of a packed envelope: which message it is."""

    AVATAR_FRAME = 1


class PackedKey(IntEnum):
    """The integer keys of a packed envelope."""

    TYPE = 0
    SESSION_ID = 1
    TIMESTAMP_MS = 2
    SEQUENCE = 3
    PAYLOAD = 4


class PackedFrameKey(IntEnum):
    """The integer keys of a packed avatar_frame payload."""

    WEIGHTS = 0
    ROTATIONS = 1
    HEAD = 2
    VISEME = 3
    VISEME_CONF = 4
    FACE_PRESENT = 5
    CAPTURE_MS = 6
    VISEMES = 7
    VARIANT = 8


class Variant(StrEnum):
    """A/B sessions: the session's strategy and the compared one; packed as their index."""

    A = "A"
    B = "B"


class CloseCode(IntEnum):
    """WebSocket close codes (RFC 6455 and the application range)."""

    NORMAL = 1000  # after bye
    GOING_AWAY = 1001  # a watcher's session ended
    POLICY = 1008  # origin, token, too many errors
    TOO_BIG = 1009  # too many oversized messages
    INTERNAL_ERROR = 1011  # the session failed inside the server (logged); reconnecting starts a new one
    TRY_AGAIN = 1013  # too many watchers
    UNKNOWN_SESSION = 4404  # a watcher asked for a session that does not exist
    REPLACED = 4409  # a new connection took this session's name
    HELLO_TIMEOUT = 4408  # no hello within the hello deadline


class ErrorCode(StrEnum):
    """The `code` of an error message (docs/protocol.md has the causes)."""

    BAD_MESSAGE = "bad_message"
    UNKNOWN_TYPE = "unknown_type"
    BAD_HELLO = "bad_hello"
    BAD_CONFIGURE = "bad_configure"
    BAD_CALIBRATION = "bad_calibration"
    NO_HELLO = "no_hello"
    NO_CONSENT = "no_consent"
    BAD_IMAGE = "bad_image"
    BAD_AUDIO = "bad_audio"
    TOO_LARGE = "too_large"
    RATE_LIMITED = "rate_limited"
    SERVER_BUSY = "server_busy"
    MODEL_MISSING = "model_missing"
    INFERENCE_FAILED = "inference_failed"
    AUTH_FAILED = "auth_failed"
    TOO_MANY_ERRORS = "too_many_errors"
    HELLO_TIMEOUT = "hello_timeout"
    INTERNAL_ERROR = "internal_error"
    RESUME_FAILED = "resume_failed"


class SessionState(StrEnum):
    """A publisher session's life: created (hello accepted, models loading) -> running
    (media is processed; consent was given in the hello) -> closing -> closed."""

    CREATED = "created"
    RUNNING = "running"
    CLOSING = "closing"
    CLOSED = "closed"


class CalibrationStatus(StrEnum):
    """The `status` of a calibration_result."""

    SAVED = "saved"
    FAILED = "failed"


# The wizard's steps in the order it runs them (face steps with a camera, then voice steps
# with a microphone); `calibration_start.steps` picks from these.
CALIBRATION_FACE_STEPS = FACE_STEP_NAMES
CALIBRATION_VOICE_STEPS = VOICE_STEP_NAMES
# The optional steps by group: a `calibration_start.steps` list may name a group for its steps.
CALIBRATION_GROUPS = STEP_GROUPS


class CalibrationPreset(StrEnum):
    """`calibration_start.steps` as one word instead of a list."""

    NEUTRAL = "neutral"  # the neutral step only (one click); no `steps`: this with a camera
    ALL = "all"  # the face steps with a camera, the voice steps with a microphone


__all__ = [
    "PROTOCOL_VERSION",
    "DEFAULT_STRATEGY",
    "CALIBRATION_FACE_STEPS",
    "CALIBRATION_VOICE_STEPS",
    "CALIBRATION_GROUPS",
    "CalibrationPreset",
    "MessageType",
    "CLIENT_TYPES",
    "SERVER_TYPES",
    "PackedType",
    "PackedKey",
    "PackedFrameKey",
    "Variant",
    "CloseCode",
    "ErrorCode",
    "SessionState",
    "CalibrationStatus",
    "WizardState",
]
