"""`avatar-driver vmc send --session ID --to HOST:PORT`: watch a session and send its frames as
VMC to a receiver on this machine or network (local use: the operator runs it, so the operator
chooses where UDP goes). A watcher like any other: it needs the watch token where one is set,
and it follows a named session across publishers (`wait=true`)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import cbor2
import numpy as np
import websockets
from websockets.exceptions import ConnectionClosedError, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.frames import Close

from avatar_mapping.avatar_frame import AvatarFrame
from avatar_mapping.vocabulary import EMOTIONS

from ..metrics import Metrics
from ..sinks.vmc import VmcSink

BONES = ("spine", "chest", "neck", "head", "left_eye", "right_eye")


def frame_of(payload: dict[str, Any]) -> AvatarFrame:
    """A named `avatar_frame` payload as the AvatarFrame it was made from (as far as VMC needs)."""
    weights = payload.get("blendshapes", {})
    transforms = payload.get("bone_transforms", {})
    bones = tuple(b for b in BONES if isinstance(transforms.get(b), list))
    rotations = np.array([transforms[b] for b in bones], dtype=np.float64).reshape(len(bones), 4)
    return AvatarFrame(
        tuple(weights),
        np.array(list(weights.values()), dtype=np.float64),
        bones,
        rotations,
        float(transforms.get("head_yaw_deg", 0.0)),
        float(transforms.get("head_pitch_deg", 0.0)),
        float(transforms.get("head_roll_deg", 0.0)),
        bool(payload.get("face_present")),
        payload.get("capture_ms"),
        payload.get("viseme", "sil"),
        float(payload.get("viseme_conf", 0.0)),
        dict(payload.get("visemes", {})),
    )


class VmcSendError(RuntimeError):
    """What stops `vmc send`, in one line (no server, a refused watch, a closed connection)."""


def default_server(host: str, port: int) -> str:
    """This machine's server as the settings name it (AVATAR_DRIVER_HOST, AVATAR_DRIVER_PORT); a
    server bound to every address is reached on loopback."""
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    return f"ws://[{host}]:{port}" if ":" in host else f"ws://{host}:{port}"


def _quiet(_: str) -> None:
    pass


async def send(
    server: str,
    session_id: str,
    target: tuple[str, int],
    profile: str,
    token: str | None,
    frames: int | None = None,
    say: Callable[[str], None] = _quiet,
) -> int:
    """Forwards until the session ends (or ``frames`` were sent); returns how many were sent.
    ``say`` is told each step a person waits on (connected, waiting, live, ended); what stops
    the forwarding early raises VmcSendError with its one-line reason."""
    sink = VmcSink(target, profile, Metrics())
    base = server.rstrip("/")
    url = f"{base}/v1/sessions/{quote(session_id)}/watch?format=named&encoding=cbor&wait=true"
    if token:
        url += f"&token={quote(token)}"
    sent = 0
    try:
        async with websockets.connect(url, max_size=None) as ws:
            say(f"connected to {base}; waiting for session {session_id!r} (Ctrl+C stops)")
            try:
                async for raw in ws:
                    if isinstance(raw, str):  # encoding=cbor: every message is a binary frame
                        raise VmcSendError(f"a text frame where CBOR was asked for: {raw[:80]!r}")
                    message = cbor2.loads(raw)
                    kind = message.get("type") if isinstance(message, dict) else None
                    if kind == "avatar_frame" and message["payload"].get("variant") in (None, "A"):
                        if sent == 0:
                            say(f"session {session_id!r} is live: sending VMC to {target[0]}:{target[1]}")
                        sink.send(frame_of(message["payload"]))
                        sent += 1
                        if frames is not None and sent >= frames:
                            break
                    elif kind == "emotion_update" and message["payload"].get("scores"):
                        scores = message["payload"]["scores"]
                        sink.set_emotion_scores(np.array([scores.get(e, 0.0) for e in EMOTIONS]))
                    elif kind == "error":
                        say(f"server: {message['payload'].get('message')}")
            except ConnectionClosedError as e:
                raise VmcSendError(_closed(e.rcvd)) from None
            if frames is None or sent < frames:
                say(f"session {session_id!r} ended" + (f" ({ws.close_reason})" if ws.close_reason else ""))
    except InvalidStatus as e:
        raise VmcSendError(f"{base} refused the watch: HTTP {e.response.status_code}") from None
    except InvalidURI:
        raise VmcSendError(f"not a ws:// or wss:// address: {server!r}") from None
    except (OSError, TimeoutError, InvalidHandshake) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e) or type(e).__name__
        raise VmcSendError(
            f"cannot reach the server at {base}: {reason} (is `avatar-driver serve` running? "
            "--server or AVATAR_DRIVER_HOST/AVATAR_DRIVER_PORT name another)"
        ) from None
    finally:
        sink.close()
    return sent


def _closed(close: Close | None) -> str:
    if close is None:
        return "the connection to the server was lost"
    return f"the server closed the watch: {close.reason or 'no reason given'} (code {close.code})"


def run(
    server: str, session_id: str, target: tuple[str, int], profile: str, token: str | None, frames: int | None = None
) -> int:
    """The command: 0 when the session ended (or Ctrl+C), 1 with a one-line error otherwise."""

    def say(line: str) -> None:
        print(f"avatar-driver vmc send: {line}", file=sys.stderr, flush=True)

    sent = 0
    try:
        sent = asyncio.run(send(server, session_id, target, profile, token, frames, say))
    except KeyboardInterrupt:
        pass
    except VmcSendError as e:
        say(str(e))
        return 1
    say(f"sent {sent} frames to {target[0]}:{target[1]}")
    return 0
