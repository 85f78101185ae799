"""Every NATS subject and bucket name of the cluster, defined once (docs/scaling.md lists them).

Media and avatar frames travel on core NATS subjects, which nothing persists: raw video and
audio are never written to a stream or a disk. Only derived state lives in JetStream buckets.
"""

from __future__ import annotations

PREFIX = "avatar"
WORKER_QUEUE = "workers"

# A connection's first message (a hello or a resume), as a request to the workers' queue group.
CLAIM = f"{PREFIX}.claim"
# Which calibration table changed: every worker applies it to its sessions of that user.
CALIBRATION_CHANGED = f"{PREFIX}.calibration.changed"
# Erase a user (a request from the edge serving DELETE /v1/users): every worker answers with
# what it erased of its own (cluster/erasure.py).
USER_ERASE = f"{PREFIX}.user.erase"

BUCKET_CALIBRATION = "avatar_calibration"
BUCKET_VOTES = "avatar_votes"
BUCKET_SESSIONS = "avatar_sessions"
OBJECTS_RIGS = "avatar_rigs"


def connection_in(conn_id: str) -> str:
    """What the client sent after its first message, edge → the worker holding the connection."""
    return f"{PREFIX}.conn.{conn_id}.in"


def connection_out(conn_id: str) -> str:
    """Replies and events for one client (welcome, errors, wizard), worker → its edge."""
    return f"{PREFIX}.conn.{conn_id}.out"


def frames(session_id: str, fmt: str, encoding: str) -> str:
    """A session's stream in one format and encoding, published once by its worker; every edge
    with a client of it (the publisher, watchers) subscribes and fans out locally."""
    return f"{PREFIX}.session.{session_id}.frame.{fmt}.{encoding}"


def session_events(session_id: str) -> str:
    """The session's life (started, paused, ended), worker → every edge with its watchers."""
    return f"{PREFIX}.session.{session_id}.events"


def session_control(session_id: str) -> str:
    """Requests to the worker holding a session: a stream format wanted, a resume."""
    return f"{PREFIX}.session.{session_id}.control"


def worker_alive(worker_id: str) -> str:
    return f"{PREFIX}.alive.worker.{worker_id}"


def edge_alive(edge_id: str) -> str:
    return f"{PREFIX}.alive.edge.{edge_id}"


# Every worker's / every edge's heartbeat.
WORKERS_ALIVE = worker_alive("*")
EDGES_ALIVE = edge_alive("*")


def session_of(subject: str) -> str:
    """The session id in a session's subject (frames, events, control)."""
    return subject.split(".")[2]


def process_of(alive: str) -> str:
    """The worker's or edge's id in its heartbeat's subject."""
    return alive.rsplit(".", 1)[1]
