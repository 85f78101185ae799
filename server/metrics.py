"""Prometheus metrics, one registry per app (so tests can run several apps)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS_S = (0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.06, 0.1, 0.2, 0.5, 1.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.stage_seconds = Histogram(
            "avatar_driver_stage_seconds",
            "Time per pipeline stage: decode, inference, mapping, encode, and frame_to_send "
            "(video frame received -> first avatar_frame computed from it sent), voice, speech_recognition.",
            ["stage"],
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self.frames_in = Counter(
            "avatar_driver_frames_in_total", "Media messages received.", ["kind"], registry=self.registry
        )
        self.frames_out = Counter(
            "avatar_driver_messages_out_total", "Messages queued to clients.", ["type"], registry=self.registry
        )
        self.dropped = Counter(
            "avatar_driver_frames_dropped_total",
            "Messages dropped: stale video frames (latest wins) or frames a slow client missed.",
            ["reason"],
            registry=self.registry,
        )
        self.client_errors = Counter(
            "avatar_driver_client_errors_total", "Error messages sent to clients.", ["code"], registry=self.registry
        )
        self.stage_failures = Counter(
            "avatar_driver_stage_failures_total",
            "Inputs a stage failed on and skipped (the session goes on).",
            ["stage"],
            registry=self.registry,
        )
        self.session_failures = Counter(
            "avatar_driver_session_failures_total",
            "Sessions closed because one of their tasks failed (logged).",
            ["task"],
            registry=self.registry,
        )
        self.sessions = Gauge("avatar_driver_sessions", "Open publisher sessions.", registry=self.registry)
        self.watchers = Gauge("avatar_driver_watchers", "Open watcher connections.", registry=self.registry)
        self.webrtc_peers = Gauge("avatar_driver_webrtc_peers", "Open WebRTC peer connections.", registry=self.registry)
        self.webrtc_tracks = Gauge(
            "avatar_driver_webrtc_tracks", "Media tracks being received over WebRTC.", ["kind"], registry=self.registry
        )
        self.vmc_dropped = Counter(
            "avatar_driver_vmc_dropped_total",
            "VMC in: OSC dropped, by why: a datagram that is not OSC we take (malformed, bad_element_size, too_deep, "
            "too_many_messages, unsupported_type), too_large, over_budget, queue_full, error; a message "
            "(unknown_address, bad_value).",
            ["reason"],
            registry=self.registry,
        )
        self.webrtc_closed = Counter(
            "avatar_driver_webrtc_closed_total",
            "WebRTC peer connections closed, by why: bye, ice_failed, channel_closed, "
            "no_channel, refused, error, shutdown.",
            ["reason"],
            registry=self.registry,
        )
        self.speech_emotion_reports = Counter(
            "avatar_driver_speech_emotion_reports_total",
            "Speech-emotion reports requested, by result: ok, bad_audio, decoder_failed (its decoder process died), "
            "timeout (the upload stalled or was too slow, or the report took too long), busy.",
            ["result"],
            registry=self.registry,
        )
        self.erasures = Counter(
            "avatar_driver_user_erasures_total",
            "Users erased (DELETE /v1/users), by result: complete, or incomplete (a live worker did not answer).",
            ["result"],
            registry=self.registry,
        )
        self.bodies_refused = Counter(
            "avatar_driver_bodies_refused_total",
            "HTTP request bodies refused (503) before they were held: over the budget of bodies in flight.",
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
