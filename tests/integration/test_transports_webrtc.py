"""The WebRTC transport end to end: an aiortc client on loopback plays a real video file of a
face (y4m, VP8 on the wire) and espeak-ng speech (Opus) to the real server; the offer carries
the hello; avatar frames come back on the `avatar` data channel, every other message on
`control`. Refusals (token, consent, a bad offer), bye, and a peer that vanishes."""

from __future__ import annotations

import asyncio
import time
import wave
from pathlib import Path
from typing import Any

import cbor2
import cv2
import httpx2
import numpy as np
import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaPlayer

from server.inference.espeak import speak
from server.settings import Settings
from tests.support.server import serving

Decoded = dict[str, Any]  # a message from the server, decoded


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4 s y4m of the astronaut tilting her head, and a WAV of a spoken sentence."""
    from skimage import data

    folder = tmp_path_factory.mktemp("webrtc-media")
    face = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    with (folder / "face.y4m").open("wb") as f:
        f.write(b"YUV4MPEG2 W640 H480 F30:1 Ip A1:1 C420jpeg\n")
        for i in range(120):
            m = cv2.getRotationMatrix2D((215, 150), 6 * np.sin(i / 12), 1.0)
            m[:, 2] += (100, 10)
            frame = cv2.warpAffine(face, m, (640, 480), borderMode=cv2.BORDER_REFLECT)
            f.write(b"FRAME\n" + cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())
    spoken = speak("Hello there, how are you doing today?")
    pcm = (np.clip(spoken.audio, -1, 1) * 32767).astype("<i2")
    with wave.open(str(folder / "speech.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(spoken.rate_hz)
        w.writeframes(np.concatenate([pcm, np.zeros(spoken.rate_hz, "<i2")]).tobytes())
    return folder


class Client:
    """A browser's side, in aiortc: tracks, the two channels, what comes back on each."""

    def __init__(self, port: int, media: Path, camera: bool = True, microphone: bool = True):
        self.port = port
        self.pc = RTCPeerConnection()
        self.control = self.pc.createDataChannel("control")
        self.avatar = self.pc.createDataChannel("avatar", ordered=False, maxRetransmits=0)
        self.messages: list[Decoded] = []
        self.frames: list[tuple[float, Decoded]] = []
        self.control.on("message", lambda m: self.messages.append(cbor2.loads(m)))
        self.avatar.on("message", lambda m: self.frames.append((time.time() * 1000, cbor2.loads(m))))
        self.players: list[MediaPlayer] = []
        if camera:
            video = MediaPlayer(str(media / "face.y4m"))
            self.players.append(video)
            assert video.video is not None
            self.pc.addTrack(video.video)
        if microphone:
            audio = MediaPlayer(str(media / "speech.wav"))
            self.players.append(audio)
            assert audio.audio is not None
            self.pc.addTrack(audio.audio)

    async def offer(self, hello: dict[str, Any]) -> httpx2.Response:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        async with httpx2.AsyncClient(base_url=f"http://127.0.0.1:{self.port}", timeout=30) as http:
            response = await http.post(
                "/v1/webrtc/offer", json={"sdp": self.pc.localDescription.sdp, "type": "offer", "hello": hello}
            )
        if response.status_code == 200:
            await self.pc.setRemoteDescription(RTCSessionDescription(**response.json()))
        return response

    async def first(self, kind: str, timeout_s: float = 20.0) -> Decoded:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for m in self.messages:
                if m.get("type") == kind:
                    return m
            await asyncio.sleep(0.05)
        raise AssertionError(f"no {kind} within {timeout_s} s: {[m.get('type') for m in self.messages]}")

    async def close(self) -> None:
        for player in self.players:
            for track in (player.audio, player.video):
                if track is not None:
                    track.stop()
        await self.pc.close()


def metric(port: int, name: str, labels: str = "") -> float:
    text = httpx2.get(f"http://127.0.0.1:{port}/metrics").text
    return sum(
        float(line.split()[-1])
        for line in text.splitlines()
        if line.startswith(name + labels + " ") or (not labels and line.startswith(name + "{"))
    )


def test_camera_and_microphone_tracks_drive_the_avatar_and_frames_come_back_on_the_avatar_channel(
    live_server: int, media: Path
) -> None:
    async def scenario() -> tuple[
        Decoded, list[tuple[float, Decoded]], list[Decoded], list[Decoded], float, float, float, float
    ]:
        client = Client(live_server, media)
        response = await client.offer(
            {"consent": {"camera": True, "microphone": True}, "format": "named", "rate_hz": 30}
        )
        assert response.status_code == 200 and response.json()["type"] == "answer"
        welcome = await client.first("welcome")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            faces = [f for _, f in client.frames if f["type"] == "avatar_frame" and f["payload"]["face_present"]]
            speaking = [f for _, f in client.frames if f["type"] == "avatar_frame" and f["payload"]["viseme"] != "sil"]
            if len(faces) >= 20 and speaking:
                break
            await asyncio.sleep(0.1)
        peers = metric(live_server, "avatar_driver_webrtc_peers")
        tracks = metric(live_server, "avatar_driver_webrtc_tracks")
        client.control.send(cbor2.dumps({"type": "bye", "payload": {}}))
        await asyncio.sleep(1.0)
        closed = metric(live_server, "avatar_driver_webrtc_closed_total", '{reason="bye"}')
        after = metric(live_server, "avatar_driver_webrtc_peers")
        await client.close()
        return welcome, client.frames, faces, speaking, peers, tracks, closed, after

    welcome, frames, faces, speaking, peers, tracks, closed, after = asyncio.run(scenario())
    assert welcome["payload"]["session_id"] and welcome["payload"]["format"] == "named"
    assert len(faces) >= 20, f"{len(faces)} frames with a face of {len(frames)}"
    assert speaking, "the voice never moved the mouth"
    arrivals = [
        (t, f["payload"]["capture_ms"])
        for t, f in frames
        if f["type"] == "avatar_frame" and f["payload"].get("capture_ms")
    ]
    assert arrivals and all(0 <= t - c < 2000 for t, c in arrivals), "capture_ms is the frame's time on this clock"
    assert peers == 1 and tracks == 2 and closed == 1 and after == 0


def test_refusals_are_http_errors_with_the_protocols_codes(live_server: int, media: Path, settings: Settings) -> None:
    async def scenario() -> tuple[dict[str, httpx2.Response], str]:
        answers: dict[str, httpx2.Response] = {}
        client = Client(live_server, media, microphone=False)
        answers["bad_hello"] = await client.offer({"consent": {"camera": True}, "rate_hz": "fast"})
        await client.close()
        client = Client(live_server, media, microphone=False)  # refused once the models are looked up
        answers["bad_rig"] = await client.offer({"consent": {"camera": True}, "rig": "nope"})
        bad_rig_error: str = (await client.first("error"))["payload"]["code"]
        await client.close()
        async with httpx2.AsyncClient(base_url=f"http://127.0.0.1:{live_server}") as http:
            answers["not_an_offer"] = await http.post("/v1/webrtc/offer", json={"sdp": "", "type": "answer"})
            answers["bad_sdp"] = await http.post(
                "/v1/webrtc/offer", json={"sdp": "v=0 nonsense", "type": "offer", "hello": {"consent": {}}}
            )
        return answers, bad_rig_error

    answers, bad_rig_error = asyncio.run(scenario())
    assert answers["bad_hello"].status_code == 400 and answers["bad_hello"].json()["detail"]["code"] == "bad_hello"
    assert answers["not_an_offer"].status_code == 400
    assert answers["bad_sdp"].status_code == 400 and answers["bad_sdp"].json()["detail"]["code"] == "bad_message"
    # an unknown rig passes the offer's checks and is refused on the control channel, as after a hello
    assert answers["bad_rig"].status_code == 200 and bad_rig_error == "bad_hello"


def test_a_wrong_token_is_refused_before_any_peer_exists(media: Path, settings: Settings) -> None:
    """The offer is a REST request (Bearer header) whose hello carries the token as a WebSocket
    hello does; either one wrong is a 401 and no peer."""
    with serving(settings.model_copy(update={"token": "secret-token"})) as port:

        async def offer(headers: dict[str, str], hello_token: str) -> httpx2.Response:
            client = Client(port, media, microphone=False)
            await client.pc.setLocalDescription(await client.pc.createOffer())
            async with httpx2.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers) as http:
                response = await http.post(
                    "/v1/webrtc/offer",
                    json={
                        "sdp": client.pc.localDescription.sdp,
                        "type": "offer",
                        "hello": {"consent": {"camera": True}, "token": hello_token},
                    },
                )
            await client.close()
            return response

        no_bearer = asyncio.run(offer({}, "secret-token"))
        wrong_hello = asyncio.run(offer({"Authorization": "Bearer secret-token"}, "guess"))
        assert no_bearer.status_code == 401
        assert wrong_hello.status_code == 401 and wrong_hello.json()["detail"]["code"] == "auth_failed"
        bearer = {"Authorization": "Bearer secret-token"}
        assert (
            httpx2.get(f"http://127.0.0.1:{port}/metrics", headers=bearer).text.count("avatar_driver_webrtc_peers 0.0")
            == 1
        )


def test_without_camera_consent_the_video_track_is_not_processed(live_server: int, media: Path) -> None:
    async def scenario() -> tuple[list[Decoded], float]:
        client = Client(live_server, media, microphone=False)
        assert (await client.offer({"consent": {"camera": False}, "format": "named", "rate_hz": 30})).status_code == 200
        await client.first("welcome")
        await asyncio.sleep(3.0)
        frames = [f for _, f in client.frames if f["type"] == "avatar_frame"]
        dropped = metric(live_server, "avatar_driver_frames_dropped_total", '{reason="no_consent"}')
        await client.close()
        return frames, dropped

    frames, dropped = asyncio.run(scenario())
    assert frames and not any(f["payload"]["face_present"] for f in frames)
    assert dropped > 0


def test_a_peer_that_vanishes_is_closed_and_counted(live_server: int, media: Path) -> None:
    """No bye: the client's connection just goes (its transport closes); the server's peer,
    tracks and session are gone soon after."""

    async def scenario() -> tuple[float, float, float]:
        client = Client(live_server, media)
        assert (await client.offer({"consent": {"camera": True, "microphone": True}})).status_code == 200
        await client.first("welcome")
        await client.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and metric(live_server, "avatar_driver_webrtc_peers") > 0:
            await asyncio.sleep(0.2)
        return (
            metric(live_server, "avatar_driver_webrtc_peers"),
            metric(live_server, "avatar_driver_sessions"),
            metric(live_server, "avatar_driver_webrtc_tracks"),
        )

    assert asyncio.run(scenario()) == (0, 0, 0)


def test_a_peer_whose_connection_never_comes_up_is_closed(media: Path, settings: Settings) -> None:
    """The offer is answered but the client never applies the answer: no ICE, no channel. The
    peer is closed after the hello timeout, and counted."""
    with serving(settings.model_copy(update={"hello_timeout_s": 1.0})) as port:

        async def scenario() -> tuple[int, float]:
            client = Client(port, media, microphone=False)
            await client.pc.setLocalDescription(await client.pc.createOffer())
            async with httpx2.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
                answered = await http.post(
                    "/v1/webrtc/offer",
                    json={
                        "sdp": client.pc.localDescription.sdp,
                        "type": "offer",
                        "hello": {"consent": {"camera": True}},
                    },
                )
            opened = metric(port, "avatar_driver_webrtc_peers")
            await asyncio.sleep(2.0)
            await client.close()
            return answered.status_code, opened

        status, opened = asyncio.run(scenario())
        assert status == 200 and opened == 1
        assert metric(port, "avatar_driver_webrtc_peers") == 0
        assert metric(port, "avatar_driver_webrtc_closed_total", '{reason="no_channel"}') == 1


async def post_offer(port: int, sdp: str, hello: dict[str, Any]) -> httpx2.Response:
    """An offer as a browser posts it, without applying the answer (no ICE follows)."""
    async with httpx2.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        return await http.post("/v1/webrtc/offer", json={"sdp": sdp, "type": "offer", "hello": hello})


async def data_only_offer(port: int, media: Path) -> tuple[Client, str]:
    client = Client(port, media, camera=False, microphone=False)
    await client.pc.setLocalDescription(await client.pc.createOffer())
    return client, client.pc.localDescription.sdp


def with_many_sections(offer: str, n: int) -> str:
    """The offer plus ``n`` minimal audio sections (ICE and DTLS moved to the session level, as
    aiortc reads them there): 500 stay under the offer's 64 KiB, and aiortc answers them all."""
    lines = offer.split("\r\n")
    first = next(i for i, line in enumerate(lines) if line.startswith("m="))
    session = [line for line in lines[:first] if not line.startswith("a=group:BUNDLE")]
    shared = ("a=ice-ufrag", "a=ice-pwd", "a=fingerprint", "a=setup")
    session += dict.fromkeys(line for line in lines[first:] if line.startswith(shared))
    extra = "".join(
        f"m=audio 9 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\na=mid:x{i}\r\na=sendonly\r\na=rtcp-mux\r\n"
        "a=rtpmap:0 PCMU/8000\r\n"
        for i in range(n)
    )
    return "\r\n".join(session + [line for line in lines[first:] if line]) + "\r\n" + extra


def test_unfinished_offers_hold_at_most_max_sessions_peers_and_the_rest_are_busy(
    media: Path, settings: Settings
) -> None:
    """Offers never followed by ICE once kept a peer each (475 of 1,000 against max_sessions 8).
    A pending peer holds a session's place: beyond max_sessions the offer is 503 server_busy;
    the places come back at the hello timeout, and pass to the sessions of honest peers."""
    with serving(settings.model_copy(update={"max_sessions": 2, "hello_timeout_s": 1.5})) as port:

        async def scenario() -> tuple[list[httpx2.Response], float, float, list[int], list[Decoded], httpx2.Response]:
            flood = [await data_only_offer(port, media) for _ in range(6)]
            answers = await asyncio.gather(*(post_offer(port, sdp, {"consent": {}}) for _, sdp in flood))
            held = metric(port, "avatar_driver_webrtc_peers")
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and metric(port, "avatar_driver_webrtc_peers") > 0:
                await asyncio.sleep(0.2)
            after = metric(port, "avatar_driver_webrtc_peers")
            honest = [Client(port, media, camera=False, microphone=False) for _ in range(2)]
            statuses = [(await c.offer({"consent": {}})).status_code for c in honest]
            welcomes = [await c.first("welcome") for c in honest]
            late, sdp = await data_only_offer(port, media)
            third = await post_offer(port, sdp, {"consent": {}})
            for client, _ in flood:
                await client.close()
            for c in [*honest, late]:
                await c.close()
            return answers, held, after, statuses, welcomes, third

        answers, held, after, statuses, welcomes, third = asyncio.run(scenario())
        codes = sorted(a.status_code for a in answers)
        assert codes == [200, 200, 503, 503, 503, 503], codes
        assert all(a.json()["detail"]["code"] == "server_busy" for a in answers if a.status_code == 503)
        assert held == 2 and after == 0
        assert metric(port, "avatar_driver_webrtc_closed_total", '{reason="no_channel"}') == 2
        # the pending peers' places passed to their sessions: two sessions run, a third offer is busy
        assert statuses == [200, 200] and all(w["payload"]["session_id"] for w in welcomes)
        assert third.status_code == 503 and third.json()["detail"]["code"] == "server_busy"


def test_offers_that_are_not_session_descriptions_are_refused_before_aiortc(live_server: int, media: Path) -> None:
    """ "hello world" was answered 200; 500 m-lines were answered after the loop stood still
    (~1 s, 4.8 s for ten). Both are 400 bad_message now, at once, and no peer is made."""

    async def scenario() -> tuple[dict[str, httpx2.Response], float, float]:
        client, sdp = await data_only_offer(live_server, media)
        await client.close()
        answers: dict[str, httpx2.Response] = {}
        answers["hello_world"] = await post_offer(live_server, "hello world", {"consent": {}})
        huge = with_many_sections(sdp, 500)
        assert len(huge) < 64 * 1024
        started = time.monotonic()
        answers["500_m_lines"] = await post_offer(live_server, huge, {"consent": {}})
        elapsed = time.monotonic() - started
        data = sdp.index("m=application")
        answers["no_data_channel"] = await post_offer(live_server, sdp[:data], {"consent": {}})
        return answers, elapsed, metric(live_server, "avatar_driver_webrtc_closed_total")

    answers, elapsed, closed = asyncio.run(scenario())
    for name, answer in answers.items():
        assert answer.status_code == 400, name
        assert answer.json()["detail"]["code"] == "bad_message", name
    assert "v=0" in answers["hello_world"].json()["detail"]["message"]
    assert elapsed < 1.0
    assert closed == 0  # refused before any peer existed


def test_ice_gathers_only_where_the_server_serves(live_server: int, media: Path) -> None:
    """A server on 127.0.0.1 bound its ICE ports on every other interface (and none on
    loopback). Its answer now offers loopback host candidates only, and the peer still connects."""

    async def scenario() -> tuple[list[str], Decoded]:
        client = Client(live_server, media, camera=False, microphone=False)
        response = await client.offer({"consent": {}})
        assert response.status_code == 200
        welcome = await client.first("welcome")
        await client.close()
        candidates = [line for line in response.json()["sdp"].splitlines() if line.startswith("a=candidate:")]
        return [line.split()[4] for line in candidates], welcome

    addresses, welcome = asyncio.run(scenario())
    assert addresses and set(addresses) == {"127.0.0.1"}, addresses
    assert welcome["payload"]["session_id"]


def test_an_empty_token_is_no_token_for_rest_and_hello_alike(
    media: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """compose.yaml's `${AVATAR_DRIVER_TOKEN:-}` once locked REST (401) while a hello with
    `token: ""` got in. An empty token is unset: both doors are open, alike."""
    monkeypatch.setenv("AVATAR_DRIVER_TOKEN", "")
    monkeypatch.setenv("AVATAR_DRIVER_WATCH_TOKEN", "")
    from_env = Settings(**settings.model_dump(exclude={"token", "watch_token"}))
    with serving(from_env) as port:

        async def scenario() -> tuple[int, list[int], list[Decoded]]:
            async with httpx2.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                rest = (await http.get("/metrics")).status_code
            clients = [Client(port, media, camera=False, microphone=False) for _ in range(2)]
            statuses = [
                (await clients[0].offer({"consent": {}})).status_code,
                (await clients[1].offer({"consent": {}, "token": ""})).status_code,
            ]
            welcomes = [await c.first("welcome") for c in clients]
            for c in clients:
                await c.close()
            return rest, statuses, welcomes

        rest, statuses, welcomes = asyncio.run(scenario())
        assert rest == 200 and statuses == [200, 200] and len(welcomes) == 2
