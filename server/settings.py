"""Server settings, read from AVATAR_DRIVER_* environment variables."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from platformdirs import user_cache_dir, user_data_dir
from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AVATAR_DRIVER_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    # Model cache (AVATAR_DRIVER_MODELS).
    models: Path = Field(default_factory=lambda: Path(user_cache_dir("avatar-driver")) / "models")
    rigs_dir: Path = REPO_ROOT / "rigs"
    # Calibration database and uploaded rigs (derived JSON only; never media).
    data_dir: Path = Field(default_factory=lambda: Path(user_data_dir("avatar-driver")))
    # Feature recordings (consent.record) are deleted this long after they were last written;
    # 0 keeps them until they are deleted (REST, or erasing their user).
    recordings_retention_days: float = 30.0
    # Request bodies: an avatar file (POST /v1/rigs), a WAV (POST /v1/animate), a JSON body
    # (calibration tables, votes). Larger ones are refused (413) before they are held.
    max_upload_bytes: int = 64 * 1024 * 1024
    max_animate_bytes: int = 32 * 1024 * 1024
    max_json_bytes: int = 1024 * 1024
    # All request bodies held at once, every request together (issue 24 item 11): a declared
    # length that does not fit what is left is refused (503 with Retry-After) before a byte is
    # read, a body without one as soon as it would not fit; given back when its request ends.
    max_body_bytes_in_flight: int = 256 * 1024 * 1024
    # What an avatar file may make the inspector decode (EXT_meshopt_compression).
    max_rig_decoded_bytes: int = 256 * 1024 * 1024
    # The longest line POST /v1/animate takes.
    max_animate_seconds: float = 120.0
    # Speech-emotion reports (POST /v1/speech-emotion, `analyze --emotion-report`): the longest
    # recording, the largest upload (streamed, never held whole), and how many run at once
    # (more: 503 with Retry-After).
    speech_emotion_max_seconds: float = 4 * 3600.0
    speech_emotion_max_bytes: int = 1024 * 1024 * 1024
    speech_emotion_jobs: int = 1
    # Speech-emotion uploads against slow clients and hostile files (docs/voice.md): the longest
    # wait for the next piece of the body, the slowest upload once it has waited that long
    # (bytes/s over the time spent waiting on the client, never on the analysis), the longest a
    # report may take in all (408 while uploading, 503 after); the fewest bytes a file may have
    # per second of audio it decodes to (past its first 30 s), the most channels, and the memory
    # (address space) of the process that decodes each upload.
    speech_emotion_idle_s: float = 20.0
    speech_emotion_min_upload_bytes_per_s: float = 1024.0
    speech_emotion_timeout_s: float = 3600.0
    speech_emotion_min_bytes_per_audio_s: float = 256.0
    speech_emotion_max_channels: int = 64
    speech_emotion_decoder_memory_bytes: int = 1024 * 1024 * 1024
    # Avatar inspection and line animation run in this many worker processes, at most
    # tool_workers + tool_queue jobs at a time (more: 503 with Retry-After), each for at most
    # tool_timeout_s.
    tool_workers: int = 1
    # Face and voice inference in this many worker processes (`serve --workers N`); 0: on
    # threads inside the server process (the default: on few cores it does not pay, scaling.md).
    # AVATAR_DRIVER_INFERENCE_WORKERS (or its former name AVATAR_DRIVER_FACE_WORKERS).
    inference_workers: int = Field(
        default=0,
        validation_alias=AliasChoices(
            "inference_workers", "AVATAR_DRIVER_INFERENCE_WORKERS", "AVATAR_DRIVER_FACE_WORKERS"
        ),
    )
    # Many machines (docs/scaling.md): the NATS servers (`nats://[user:password@]host:4222`,
    # comma-separated), and this process's role on them: `edge` (client transports), `worker`
    # (sessions), or `all`. Unset: the embedded default, one process, SQLite, no broker.
    # AVATAR_DRIVER_CLUSTER (or its former name AVATAR_DRIVER_BUS, which warns).
    cluster: str | None = Field(
        default=None, validation_alias=AliasChoices("cluster", "AVATAR_DRIVER_CLUSTER", "AVATAR_DRIVER_BUS")
    )
    role: str = "all"
    # A file with this process's nkey seed, for NATS servers that authenticate with nkeys.
    cluster_nkey_seed: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "cluster_nkey_seed", "AVATAR_DRIVER_CLUSTER_NKEY_SEED", "AVATAR_DRIVER_BUS_NKEY_SEED"
        ),
    )
    # Liveness on the cluster: every process heartbeats this often; a worker silent for
    # worker_timeout_s is taken for lost (its sessions are reclaimed by others), an edge
    # silent for edge_timeout_s too (its sessions wait resume_window_s for a `resume`).
    heartbeat_s: float = 0.1
    worker_timeout_s: float = 0.5
    edge_timeout_s: float = 1.5
    resume_window_s: float = 30.0
    # The session directory forgets a session this long after its worker last refreshed it.
    directory_ttl_s: float = 10.0
    # How long an edge waits for a worker to take a session (its models load meanwhile).
    claim_timeout_s: float = 10.0
    # Messages a cluster subscription holds for a slow consumer before dropping (counted).
    cluster_pending_messages: int = 256
    # The cluster's credentials and sessions (docs/security.md): workers create the JetStream
    # buckets, an edge waits this long for them at start (then fails to start). A session
    # being reclaimed holds at most this many of its client's messages until it is rebuilt
    # (then they are replayed; older ones go first, counted as dropped `cluster_reclaiming`).
    cluster_bucket_wait_s: float = 120.0
    cluster_reclaim_hold_messages: int = 64
    # Erasing a user on a cluster (DELETE /v1/users on an edge, cluster/erasure.py): how long
    # the edge waits for every live worker to answer with what it erased of its own (a worker
    # that does not answer makes the answer 503: erasing again is safe).
    erase_timeout_s: float = 5.0
    # Stopping (SIGTERM, issue 25 item 9): requests and sockets still running this long after the
    # signal are cancelled, then the app closes (leaving the cluster: each step bounded by
    # claim_timeout_s). Without it an edge whose NATS was gone waited out a pending claim.
    shutdown_grace_s: int = 3
    # VMC out (docs/vmc.md): where sessions may send VMC, comma-separated host:port (the
    # protocol's port 39539 when omitted). Chosen by the operator, named by a hello's vmc.target.
    vmc_targets: str = ""
    # VMC in: listen for a VMC stream (an ARKit tracker) on this UDP port (0: off), on this address.
    vmc_listen: int = 0
    vmc_listen_host: str = "127.0.0.1"
    # VMC in's limits (docs/vmc.md#limits): what one datagram may be (bytes, bundle nesting,
    # messages), what the stream may cost per second (bytes, messages, applied frames; past
    # them datagrams are dropped and counted), and how many datagrams wait to be parsed.
    vmc_max_datagram_bytes: int = 32 * 1024
    vmc_max_bundle_depth: int = 8
    vmc_max_messages_per_datagram: int = 1024
    vmc_max_bytes_per_s: int = 1024 * 1024
    vmc_max_messages_per_s: int = 10_000
    vmc_max_applies_per_s: int = 240
    vmc_queue_datagrams: int = 64
    tool_queue: int = 4
    tool_timeout_s: float = 120.0
    web_dir: Path = REPO_ROOT / "web_avatar" / "dist"
    # When set, every endpoint but /healthz and the viewer's files needs this token: REST as
    # `Authorization: Bearer <token>`, a publisher in its hello, a watcher as ?token=.
    token: str | None = None
    # A token that may only watch sessions (an NPC, an OBS overlay), besides `token`.
    watch_token: str | None = None

    @field_validator("token", "watch_token", mode="before")
    @classmethod
    def _empty_token_is_unset(cls, value: object) -> object:
        """An empty token (compose's `${AVATAR_DRIVER_TOKEN:-}`) is no token, for every door
        alike: REST, hello and watch all read this one value."""
        return None if isinstance(value, str) and not value.strip() else value

    # Browser origins allowed to open WebSockets; empty allows localhost origins only.
    # "*" allows every origin. Clients that send no Origin header (native apps) are allowed.
    # Comma-separated, e.g. "https://app.example.com,http://localhost:5173".
    allowed_origins: str = ""
    max_message_bytes: int = 2 * 1024 * 1024
    max_messages_per_s: float = 200.0
    # A session that sends this many bad messages within error_window_s is closed.
    max_errors: int = 20
    error_window_s: float = 10.0
    max_sessions: int = 8
    # A publisher that sends no hello within this is closed (4408).
    hello_timeout_s: float = 10.0
    # WebRTC (POST /v1/webrtc/offer, docs/protocol.md). ICE gathers host candidates on these
    # addresses (comma-separated IPs; "*": every interface but loopback); empty: where `host`
    # serves (127.0.0.1 stays on loopback; 0.0.0.0 or :: every interface). An offer's SDP may
    # have at most these bytes, lines and media sections (m-lines: the viewer sends audio, video
    # and one data channel). A peer not yet a session holds one of `max_sessions` meanwhile.
    webrtc_ice_host: str = ""
    webrtc_max_sdp_bytes: int = 32 * 1024
    webrtc_max_sdp_lines: int = 600
    webrtc_max_media_sections: int = 4
    max_rate_hz: float = 60.0
    default_rate_hz: float = 30.0
    emotion_rate_hz: float = 10.0
    max_image_pixels: int = 1920 * 1080
    max_watchers_per_session: int = 16
    # A named session's watchers wait this long for its publisher to come back (a reconnect,
    # another avatar) before they are told the session ended.
    watch_linger_s: float = 120.0
    # The face-emotion CNN; off: emotion from the AU prototypes only. Which network: the model
    # store's "face_emotion" (FER2013, the default) or "face_emotion_faceapi" (face-api).
    face_emotion: bool = True
    # cheekPuff, cheekSquint* and noseSneer* estimated from the face's landmarks as well as
    # MediaPipe's blendshapes (docs/face-tracking.md); false: MediaPipe's alone.
    geometric_channels: bool = True
    face_emotion_model: str = "face_emotion"
    # Purpose mode: off where inferring emotions is not allowed (e.g. workplaces and schools,
    # EU AI Act art. 5(1)(f)). No classifier runs (face CNN, AU prototypes, SenseVoice's
    # emotion, prosody arousal); blendshapes, visemes, head pose and transcripts go on, and
    # emotion_update says `emotion_inference: false`.
    emotion_inference: bool = True
    # SenseVoice (transcript, speech emotion): off, or its model folder (default: <models>/SenseVoiceSmall).
    speech_recognition: bool = True
    sensevoice_dir: Path | None = None
    speech_device: str = "auto"  # "auto", "cpu", "cuda:0"
    log_level: str = "info"

    def model_post_init(self, context: Any, /) -> None:
        for old, new in DEPRECATED_ENVIRONMENT.items():
            if old in os.environ:
                warnings.warn(f"{old} is deprecated: use {new}", FutureWarning, stacklevel=2)


# Former names of settings that are still read, and what to call them now.
DEPRECATED_ENVIRONMENT = {
    "AVATAR_DRIVER_BUS": "AVATAR_DRIVER_CLUSTER",
    "AVATAR_DRIVER_BUS_NKEY_SEED": "AVATAR_DRIVER_CLUSTER_NKEY_SEED",
    "AVATAR_DRIVER_FACE_WORKERS": "AVATAR_DRIVER_INFERENCE_WORKERS",
}
