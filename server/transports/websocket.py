"""The WebSocket transport: `WS /v1/stream` (a publisher) and `WS /v1/sessions/{id}/watch`.

It only moves messages: a publisher's frames go to its SessionController and the client's
outbox is drained to the socket by one task (so the socket never sees two concurrent sends);
a watcher's outbox is drained the same way, while its socket is read, so that a watcher that
leaves is noticed at once and its place freed (a parked watcher may get nothing to send for
minutes: a send would never fail). Close codes come from the controller or the
registry (server/protocol/constants.py). A refused connection is accepted and then closed
with its code, so that every client sees the documented code and reason (closing before
accepting answers HTTP 403, which a browser reports as 1006 and a reconnecting client
cannot tell from a network error).
"""

from __future__ import annotations

import asyncio

from starlette.types import Message
from starlette.websockets import WebSocket, WebSocketDisconnect

from ..access import may_watch, origin_allowed
from ..live.ports import Connection
from ..live.registry import WatchRefusal
from ..protocol.codec import as_encoding
from ..protocol.constants import CloseCode
from ..protocol.messages import SESSION_NAME
from ..sinks.outbox import Outbox
from ..sinks.wire import Subscriber
from .ports import Gateway

# Errors queued before a close get this long to go out.
FLUSH_S = 0.2
_GONE = (WebSocketDisconnect, RuntimeError, OSError)  # what a socket raises once the peer left


async def serve_publisher(websocket: WebSocket, gateway: Gateway) -> None:
    await websocket.accept()
    if not origin_allowed(websocket.headers.get("origin"), gateway.settings.allowed_origins):
        await _close(websocket, CloseCode.POLICY, "origin not allowed")
        return
    outbox = _outbox(gateway)
    controller = gateway.open_connection(outbox)
    sender = asyncio.create_task(_drain(outbox, websocket))
    try:
        while controller.close_code is None:
            message = await _receive(websocket, controller)
            if message is None:
                continue  # the controller decided (deadline, failure): the loop condition says so
            if message["type"] == "websocket.disconnect":
                break
            data = message.get("bytes") if message.get("bytes") is not None else message.get("text")
            if data is not None:
                await controller.receive(data)
        controller.end()
        await _flush(outbox, sender)
        peer_gone = sender.done()
        sender.cancel()
        if controller.close_code is not None and not peer_gone:
            await _close(websocket, controller.close_code)
    finally:  # also on cancellation: nothing here awaits
        sender.cancel()
        controller.end()


async def serve_watcher(
    websocket: WebSocket,
    gateway: Gateway,
    session_id: str,
    fmt: str,
    encoding: str,
    token: str | None,
    wait: bool = False,
) -> None:
    """Stream an existing session's frames to one more client (an NPC, another viewer); with
    ``wait``, also a named session that is not live yet (registry.py)."""
    settings = gateway.settings
    await websocket.accept()
    if not origin_allowed(websocket.headers.get("origin"), settings.allowed_origins):
        await _close(websocket, CloseCode.POLICY, "origin not allowed")
        return
    if not may_watch(settings.token, settings.watch_token, token):
        await _close(websocket, CloseCode.POLICY, "missing or wrong token")
        return
    if fmt not in ("named", "packed") or (wire := as_encoding(encoding)) is None:
        await _close(websocket, CloseCode.POLICY, "format must be named|packed and encoding cbor|json")
        return
    if wait and not SESSION_NAME.fullmatch(session_id):
        await _close(websocket, CloseCode.POLICY, "wait=true needs a session name (8 to 64 of A-Z a-z 0-9 - _)")
        return
    outbox = _outbox(gateway)
    subscriber = Subscriber(outbox, fmt, wire)
    first = await gateway.watch(session_id, subscriber, wait)
    if isinstance(first, WatchRefusal):
        code = CloseCode.UNKNOWN_SESSION if first is WatchRefusal.UNKNOWN_SESSION else CloseCode.TRY_AGAIN
        await _close(websocket, code, first.value)
        return
    try:
        outbox.put_control(first.encoded("named", wire))
        if await _stream_to_watcher(outbox, websocket, gateway):
            await _close(websocket, CloseCode.GOING_AWAY, "session ended")
    finally:
        await gateway.unwatch(session_id, subscriber)


async def _stream_to_watcher(outbox: Outbox, websocket: WebSocket, gateway: Gateway) -> bool:
    """Drains the outbox to the watcher until it ends (True) or the watcher leaves (False)."""
    sender = asyncio.create_task(_drain(outbox, websocket))
    reader = asyncio.create_task(_until_gone(websocket, gateway))
    try:
        await asyncio.wait((sender, reader), return_when=asyncio.FIRST_COMPLETED)
        return sender.done() and not reader.done() and sender.result()
    finally:
        sender.cancel()
        reader.cancel()


async def _until_gone(websocket: WebSocket, gateway: Gateway) -> None:
    """Reads a watcher's socket until it disconnects; what a watcher sends is dropped and counted."""
    try:
        while (await websocket.receive())["type"] != "websocket.disconnect":
            gateway.metrics.dropped.labels("watcher_message").inc()
    except _GONE:
        pass


async def _receive(websocket: WebSocket, controller: Connection) -> Message | None:
    """The next ASGI message, or None when the controller closes first or its wait runs out."""
    receiving = asyncio.ensure_future(websocket.receive())
    stopping = asyncio.ensure_future(controller.stopped.wait())
    try:
        done, _ = await asyncio.wait(
            (receiving, stopping), timeout=controller.wait_s, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        stopping.cancel()
        if not receiving.done():
            receiving.cancel()
    if receiving in done:
        return receiving.result()
    if not done:
        controller.timed_out()
    return None


def _outbox(gateway: Gateway) -> Outbox:
    dropped = gateway.metrics.dropped
    return Outbox(on_drop=lambda reason: dropped.labels(reason).inc())


async def _drain(outbox: Outbox, websocket: WebSocket) -> bool:
    """Sends until the outbox ends (True) or the peer is gone (False)."""
    try:
        while (message := await outbox.next()) is not None:
            if isinstance(message, bytes):
                await websocket.send_bytes(message)
            else:
                await websocket.send_text(message)
        return True
    except _GONE:
        return False


async def _flush(outbox: Outbox, sender: asyncio.Task[bool]) -> None:
    """Gives queued errors a moment to go out before closing."""
    deadline = asyncio.get_running_loop().time() + FLUSH_S
    while outbox.pending and not sender.done() and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.01)


async def _close(websocket: WebSocket, code: CloseCode, reason: str = "") -> None:
    try:
        await websocket.close(int(code), reason=reason)
    except _GONE:
        pass  # the peer already left
