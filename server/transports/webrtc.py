"""The WebRTC transport (aiortc): camera and microphone as media tracks, the session's
messages on two data channels.

`POST /v1/webrtc/offer` (server/routers/webrtc.py) takes the browser's SDP offer together
with what a WebSocket's hello carries; `WebRtcTransport.accept` checks it as the WebSocket
path does (the same hello parser, token and session limit: refusals are HTTP errors with the
protocol's error code), checks the SDP before aiortc reads it (sdp.py), answers with ICE host
candidates only where the server serves (ice_hosts.py), and from then on a `WebRtcPeer` only
moves things:

* the `control` data channel (reliable, ordered) carries every message but avatar frames,
  as CBOR envelopes, both ways, into and out of the same SessionController as a WebSocket;
* the `avatar` data channel (unordered, no retransmits) carries the stream — avatar frames,
  emotion updates, transcripts — in the hello's format: a late frame is skipped, never waited
  for;
* the video track's frames go to the face stage decoded (no JPEG step): `capture_ms` is the
  frame's RTP timestamp on this server's clock, mapped by the least-delayed frame so far (so
  it keeps the sender's spacing and is never after the frame's arrival); the audio track
  (Opus) goes to the voice stage as 20 ms chunks of 48 kHz mono PCM.

Nothing here waits on a slow peer: track frames are read as they come and the newest is
handed on (the face stage keeps one, latest wins); a data channel whose send buffer is over
its limit skips avatar frames (counted). A peer ends on `bye` (or any close code the
controller sets), ICE failure, the control channel closing, or no channel within the hello
timeout; its tracks and connection are closed and counted in /metrics.

A peer holds a place among `max_sessions` from its offer on (the registry's `Reservation`, as
a WebSocket's hello does), not only once its session runs: offers that never open a channel
cannot pile up peers, sockets and memory beyond the limit. The place goes back when the peer
ends, or passes to its session when the hello on the control channel starts one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from typing import Any

import av
import cbor2
from aiortc import MediaStreamTrack, RTCConfiguration, RTCDataChannel, RTCPeerConnection, RTCSessionDescription
from aiortc.exceptions import InternalError, InvalidAccessError, InvalidStateError, OperationError
from aiortc.mediastreams import MediaStreamError

from ..access import token_ok
from ..live.registry import Reservation, SessionLimitReached
from ..protocol.codec import ProtocolError
from ..protocol.constants import CloseCode, ErrorCode, MessageType
from ..protocol.envelopes import now_ms
from ..protocol.messages import AudioChunk, Hello, VideoFrame, WebRtcOffer
from ..sinks.outbox import Outbox
from . import ice_hosts
from .ports import Gateway
from .sdp import SdpLimits, check_offer

log = logging.getLogger(__name__)
CONTROL, AVATAR = "control", "avatar"
# A data channel holding more than this unsent skips avatar data until it drains.
MAX_BUFFERED_BYTES = 256 * 1024
AUDIO_CHUNK_S = 0.02  # as the viewer sends over WebSocket: lip-sync latency before message count
AUDIO_RATE_HZ = 48000
# What aiortc raises for an offer it cannot answer (besides ValueError).
RTC_ERRORS = (InternalError, InvalidAccessError, InvalidStateError, OperationError)


class WebRtcTransport:
    """The open peers of this server; accepts offers, closes what is left at shutdown."""

    def __init__(self, gateway: Gateway):
        self.gateway = gateway
        self.peers: set[WebRtcPeer] = set()
        s = gateway.settings
        self.sdp_limits = SdpLimits(s.webrtc_max_sdp_bytes, s.webrtc_max_sdp_lines, s.webrtc_max_media_sections)
        ice_hosts.install()
        self.ice_addresses = ice_hosts.ice_addresses(s.webrtc_ice_host, s.host)
        log.info("webrtc: ICE host candidates on %s", ", ".join(self.ice_addresses or ("every interface",)))

    async def accept(self, offer: WebRtcOffer) -> str:
        """The SDP answer for an accepted offer; ProtocolError (with its code) for a refused one."""
        s = self.gateway.settings
        if self.gateway.relays_sessions:
            raise ProtocolError(
                ErrorCode.SERVER_BUSY,
                "this edge relays WebSockets only; WebRTC runs on an "
                "embedded server or a cluster process with role all",
            )
        hello = Hello.parse(offer.hello, s.default_rate_hz, s.max_rate_hz)
        if not token_ok(s.token, hello.token):
            raise ProtocolError(ErrorCode.AUTH_FAILED, "the offer's hello has a missing or wrong token")
        check_offer(offer.sdp, self.sdp_limits)
        try:
            peer = WebRtcPeer(self, offer.hello)
        except SessionLimitReached as e:
            raise ProtocolError(ErrorCode.SERVER_BUSY, str(e)) from None
        self.peers.add(peer)
        try:
            with ice_hosts.gathering_on(self.ice_addresses):
                return await peer.answer(offer.sdp)
        except (ValueError, *RTC_ERRORS) as e:  # aiortc: an SDP it cannot read or answer
            await peer.close("refused")
            raise ProtocolError(ErrorCode.BAD_MESSAGE, f"the offer's SDP was refused: {e}") from None
        except BaseException:  # whatever else: the peer and its place never outlive the offer
            await peer.close("error")
            raise

    async def close(self) -> None:
        await asyncio.gather(*(peer.close("shutdown") for peer in tuple(self.peers)))


class WebRtcPeer:
    def __init__(self, transport: WebRtcTransport, hello: dict[str, Any]):
        """SessionLimitReached, before anything is opened, when no place is left."""
        self.transport = transport
        gateway = self.gateway = transport.gateway
        self.metrics = gateway.metrics
        self.outbox = Outbox(on_drop=lambda reason: self.metrics.dropped.labels(reason).inc())
        self.controller = gateway.open_session(self.outbox)
        self.reservation: Reservation = self.controller.ports.registry.reserve()
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # host candidates: no STUN, no TURN
        self.channels: dict[str, RTCDataChannel] = {}
        self._hello = hello
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False
        self.metrics.webrtc_peers.inc()
        self.pc.on("datachannel", self._on_channel)
        self.pc.on("track", self._on_track)
        self.pc.on("connectionstatechange", self._on_state)

    async def answer(self, sdp: str) -> str:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        self._spawn(self._no_channel_within(self.gateway.settings.hello_timeout_s))
        return self.pc.localDescription.sdp

    # -- channels ----------------------------------------------------------------------------
    def _on_channel(self, channel: RTCDataChannel) -> None:
        if channel.label not in (CONTROL, AVATAR) or channel.label in self.channels:
            log.info("webrtc: ignoring data channel %r", channel.label)
            return
        self.channels[channel.label] = channel
        if channel.label == CONTROL:
            channel.on("message", self._on_control)
            channel.on("close", lambda: self._spawn(self.close("channel_closed")))
            self._spawn(self._start())

    async def _start(self) -> None:
        """The hello of the offer, as the first message on the control channel, then the
        session's messages out while it lasts."""
        # The peer's place passes to the session: the controller reserves its own before its
        # first await, and nothing is awaited between this release and that reservation.
        self.reservation.release()
        await self.controller.receive(cbor2.dumps({"type": str(MessageType.HELLO), "payload": self._hello}))
        sender = self._spawn(self._send())
        if self.controller.session is None:  # refused after all (a model missing, …): the error goes out first
            await asyncio.sleep(0.2)
            await self.close("refused")
            return
        stopped = self._spawn(self.controller.stopped.wait())
        await asyncio.wait({sender, stopped}, return_when=asyncio.FIRST_COMPLETED)
        await self.close("bye" if self.controller.close_code == CloseCode.NORMAL else "error")

    async def _on_control(self, message: bytes | str) -> None:
        await self.controller.receive(message)

    async def _send(self) -> None:
        while (item := await self.outbox.next_item()) is not None:
            is_control, message = item
            channel = self.channels.get(CONTROL if is_control else AVATAR) or self.channels.get(CONTROL)
            if channel is None or channel.readyState != "open":
                continue
            if not is_control and channel.bufferedAmount > MAX_BUFFERED_BYTES:
                self.metrics.dropped.labels("slow_client").inc()
                continue
            channel.send(message)

    # -- tracks ------------------------------------------------------------------------------
    def _on_track(self, track: MediaStreamTrack) -> None:
        kind = track.kind if track.kind in ("video", "audio") else "other"
        self.metrics.webrtc_tracks.labels(kind).inc()
        reader = self._read_video if kind == "video" else self._read_audio if kind == "audio" else self._drain
        task = self._spawn(reader(track))
        task.add_done_callback(lambda _: self.metrics.webrtc_tracks.labels(kind).dec())

    async def _read_video(self, track: MediaStreamTrack) -> None:
        """Each decoded frame to the session, stamped with its RTP time on this clock."""
        offset_ms: float | None = None  # arrival - media time, the least of any frame so far
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if not isinstance(frame, av.VideoFrame):
                continue  # a video track delivers decoded frames
            arrival_ms = time.time() * 1000.0
            media_ms = arrival_ms
            if frame.pts is not None and frame.time_base is not None:
                media_ms = float(frame.pts * frame.time_base) * 1000.0
            # The least-delayed frame maps the sender's RTP clock onto this one: capture_ms
            # keeps the sender's spacing and is never later than the frame's arrival.
            offset_ms = arrival_ms - media_ms if offset_ms is None else min(offset_ms, arrival_ms - media_ms)
            if not self.controller.wants("video"):
                continue  # no session yet, or no camera consent: nothing goes further
            rgb = frame.to_ndarray(format="rgb24")
            self.controller.submit_media(
                VideoFrame(int(media_ms + offset_ms), rgb=rgb.tobytes(), width=rgb.shape[1], height=rgb.shape[0])
            )

    async def _read_audio(self, track: MediaStreamTrack) -> None:
        """Opus, decoded by aiortc, in 20 ms chunks of 48 kHz mono s16 to the voice stage."""
        to_mono = av.AudioResampler(format="s16", layout="mono", rate=AUDIO_RATE_HZ)
        pending: list[bytes] = []
        pending_samples, first_ms = 0, 0
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if not isinstance(frame, av.AudioFrame) or not self.controller.wants("audio"):
                continue
            for mono in to_mono.resample(frame):
                if not pending:
                    first_ms = now_ms()
                pending.append(mono.to_ndarray().astype("<i2").tobytes())
                pending_samples += mono.samples
            if pending_samples >= AUDIO_RATE_HZ * AUDIO_CHUNK_S:
                self.controller.submit_media(AudioChunk(first_ms, b"".join(pending), AUDIO_RATE_HZ))
                pending, pending_samples = [], 0

    async def _drain(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                await track.recv()
            except MediaStreamError:
                return

    # -- the end -----------------------------------------------------------------------------
    async def _on_state(self) -> None:
        if self.pc.connectionState in ("failed", "closed"):
            await self.close("ice_failed" if self.pc.connectionState == "failed" else "channel_closed")

    async def _no_channel_within(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        if CONTROL not in self.channels:
            await self.close("no_channel")

    async def close(self, reason: str) -> None:
        """Ends the session, closes tracks, channels and the connection; once."""
        if self._closed:
            return
        self._closed = True
        self.reservation.release()
        self.controller.end()
        self.outbox.end()
        for task in tuple(self._tasks):
            if task is not asyncio.current_task():
                task.cancel()
        await self.pc.close()
        self.transport.peers.discard(self)
        self.metrics.webrtc_peers.dec()
        self.metrics.webrtc_closed.labels(reason).inc()
        log.info("webrtc peer closed: %s", reason)

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task
