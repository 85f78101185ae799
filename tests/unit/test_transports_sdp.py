"""The SDP check that runs before aiortc reads an offer (server/transports/sdp.py): a browser's
offer passes; "hello world", a 500-m-line offer, unknown line types, control characters, a
section of an unknown medium and an offer without a data channel are refused, each with
bad_message and a reason, in a linear pass."""

from __future__ import annotations

import time

import pytest

from server.protocol.codec import ProtocolError
from server.protocol.constants import ErrorCode
from server.settings import Settings
from server.transports.sdp import SdpLimits, check_offer
from tests.support.golden import OFFER_SDP

# The shape of Chrome's offer for the viewer: audio, video (codecs cut short), the data channels.
BROWSER_OFFER = "\r\n".join(
    [
        "v=0",
        "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0 1 2",
        "a=extmap-allow-mixed",
        "a=msid-semantic: WMS stream",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126",
        "c=IN IP4 0.0.0.0",
        "a=rtcp:9 IN IP4 0.0.0.0",
        "a=candidate:1 1 udp 2122260223 192.168.1.20 54321 typ host generation 0 network-id 1",
        "a=ice-ufrag:abcd",
        "a=ice-pwd:abcdefghijklmnopqrstuvwx",
        "a=ice-options:trickle",
        "a=fingerprint:sha-256 " + ":".join(["AB"] * 32),
        "a=setup:actpass",
        "a=mid:0",
        "a=sendonly",
        "a=msid:stream audio",
        "a=rtcp-mux",
        "a=rtpmap:111 opus/48000/2",
        "a=rtcp-fb:111 transport-cc",
        "a=fmtp:111 minptime=10;useinbandfec=1",
        "m=video 9 UDP/TLS/RTP/SAVPF 96 97",
        "c=IN IP4 0.0.0.0",
        "b=AS:2000",
        "a=rtcp:9 IN IP4 0.0.0.0",
        "a=ice-ufrag:abcd",
        "a=ice-pwd:abcdefghijklmnopqrstuvwx",
        "a=setup:actpass",
        "a=mid:1",
        "a=sendonly",
        "a=rtcp-mux",
        "a=rtcp-rsize",
        "a=rtpmap:96 VP8/90000",
        "a=rtcp-fb:96 goog-remb",
        "a=rtcp-fb:96 nack pli",
        "a=rtpmap:97 rtx/90000",
        "a=fmtp:97 apt=96",
        "a=ssrc-group:FID 1 2",
        "a=ssrc:1 cname:abc",
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
        "c=IN IP4 0.0.0.0",
        "a=ice-ufrag:abcd",
        "a=ice-pwd:abcdefghijklmnopqrstuvwx",
        "a=setup:actpass",
        "a=mid:2",
        "a=sctp-port:5000",
        "a=max-message-size:262144",
        "",
    ]
)
LIMITS = SdpLimits()


def refusal(sdp: str, limits: SdpLimits = LIMITS) -> str:
    with pytest.raises(ProtocolError) as refused:
        check_offer(sdp, limits)
    assert refused.value.code == ErrorCode.BAD_MESSAGE
    return refused.value.message


def test_a_browsers_offer_passes_and_the_limits_are_the_settings_defaults() -> None:
    check_offer(BROWSER_OFFER, LIMITS)
    check_offer(OFFER_SDP, LIMITS)  # the protocol's golden offer
    check_offer(BROWSER_OFFER.replace("\r\n", "\n"), LIMITS)  # lines ended by LF alone, as aiortc reads them
    s = Settings()
    assert SdpLimits(s.webrtc_max_sdp_bytes, s.webrtc_max_sdp_lines, s.webrtc_max_media_sections) == LIMITS


def test_hello_world_is_not_a_session_description() -> None:
    assert "v=0" in refusal("hello world")
    assert "v=0" in refusal("")
    assert "v=0" in refusal("v=0 nonsense\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel")


def test_a_500_m_line_offer_is_refused_at_once() -> None:
    section = BROWSER_OFFER[BROWSER_OFFER.index("m=audio") : BROWSER_OFFER.index("m=video")]
    huge = BROWSER_OFFER + section * 500
    generous = SdpLimits(max_bytes=len(huge) * 2, max_lines=huge.count("\n") * 2)  # only the m-line cap left
    started = time.perf_counter()
    assert "more than 4 media sections" in refusal(huge, generous)
    assert time.perf_counter() - started < 0.05
    assert "bytes" in refusal(huge)  # by default, its size alone refuses it
    five = BROWSER_OFFER + section * 2
    assert "media sections" in refusal(five, SdpLimits(max_media_sections=4))
    check_offer(BROWSER_OFFER + section, SdpLimits(max_media_sections=4))  # four are fine


def test_size_and_line_count_are_capped() -> None:
    assert "bytes" in refusal(BROWSER_OFFER, SdpLimits(max_bytes=len(BROWSER_OFFER) - 1))
    check_offer(BROWSER_OFFER, SdpLimits(max_bytes=len(BROWSER_OFFER)))
    multibyte = BROWSER_OFFER.replace("s=-", "s=" + "é" * 100)
    assert "bytes" in refusal(multibyte, SdpLimits(max_bytes=len(multibyte) + 50))  # bytes, not characters
    lines = BROWSER_OFFER.count("\r\n")
    assert "lines" in refusal(BROWSER_OFFER, SdpLimits(max_lines=lines - 1))
    candidates = "".join(f"a=candidate:{i} 1 udp 1 10.0.0.1 {i} typ host\r\n" for i in range(1000))
    assert "lines" in refusal(BROWSER_OFFER + candidates, SdpLimits(max_bytes=10**6))


@pytest.mark.parametrize(
    "line",
    [
        "x=unknown type",
        "A=upper case",
        "a:colon",
        "=",
        "a",
        "ab=two letters",
        "a=ice-ufrag:ab\x00cd",
        "a=ice-ufrag:ab\x1bcd",
        " a=leading space",
        "",  # a blank line in the middle
    ],
)
def test_only_known_line_types_without_control_characters(line: str) -> None:
    sdp = BROWSER_OFFER.replace("a=extmap-allow-mixed", line)
    assert "line 6" in refusal(sdp)


def test_media_sections_are_audio_video_or_the_data_channels_which_must_be_there() -> None:
    assert "'text'" in refusal(BROWSER_OFFER.replace("m=video 9", "m=text 9"))
    without_data = BROWSER_OFFER[: BROWSER_OFFER.index("m=application")]
    assert "data channel" in refusal(without_data)
    assert "data channel" in refusal("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n")
