"""The SessionController without a transport or a server: every client message, its replies,
the errors and the close codes, against its ports (the real assembler and models, calibration
in memory; the WebSocket end to end: tests/integration/test_transports_websocket.py)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import cbor2
import pytest

from server.live.controller import SessionController
from server.live.ports import LivePorts
from server.protocol.constants import CloseCode, ErrorCode
from server.settings import Settings
from tests.support.fakes import MemoryChannel, live_ports

T = TypeVar("T")
Script = Callable[[SessionController, MemoryChannel, LivePorts], Awaitable[T]]


def envelope(kind: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": kind, "session_id": None, "timestamp_ms": 0, "sequence": 0, "payload": payload or {}}


def run(settings: Settings, script: Script[T]) -> T:
    """Runs ``script(controller, channel, ports)`` on one controller; returns its result."""

    async def scenario() -> T:
        ports = live_ports(settings)
        channel = MemoryChannel()
        controller = SessionController(ports, channel)
        try:
            return await script(controller, channel, ports)
        finally:
            controller.end()

    return asyncio.run(scenario())


def codes(channel: MemoryChannel) -> list[str]:
    return [m["payload"]["code"] for m in channel.control if m["type"] == "error"]


NO_MEDIA = {"consent": {"camera": False, "microphone": False}}


def test_messages_before_hello_and_unknown_ones_get_specific_errors(settings: Settings) -> None:
    async def script(c: SessionController, ch: MemoryChannel, _: LivePorts) -> Any:
        await c.receive(cbor2.dumps(envelope("video_frame", {"image": b"x"})))
        await c.receive(cbor2.dumps(envelope("dance")))
        await c.receive(b"\xff\x00")
        await c.receive(cbor2.dumps(envelope("configure", {"strategy": "hybrid"})))
        return codes(ch), c.close_code, c.session

    errors, close_code, session = run(settings, script)
    assert errors == ["no_hello", "unknown_type", "bad_message", "no_hello"]
    assert close_code is None and session is None


def test_resume_is_refused_by_a_server_that_keeps_no_session_across_connections(settings: Settings) -> None:
    async def script(c: SessionController, ch: MemoryChannel, _: LivePorts) -> Any:
        await c.receive(cbor2.dumps(envelope("resume", {"session_id": "abcdefgh1234", "resume_token": "t" * 32})))
        await c.receive(cbor2.dumps(envelope("hello", NO_MEDIA)))  # the connection stays open for a hello
        welcome = next(m for m in ch.control if m["type"] == "welcome")
        return codes(ch), welcome

    errors, welcome = run(settings, script)
    assert errors == ["resume_failed"] and "resume_token" not in welcome["payload"]


def test_errors_answer_in_the_encoding_the_client_used_until_hello(settings: Settings) -> None:
    raw: list[bytes | str] = []

    class Raw(MemoryChannel):
        def put_control(self, message: bytes | str) -> None:
            raw.append(message)

    async def scenario() -> None:
        c = SessionController(live_ports(settings), Raw())
        await c.receive(json.dumps(envelope("bye_now")))
        await c.receive(cbor2.dumps(envelope("bye_now")))

    asyncio.run(scenario())
    assert isinstance(raw[0], str) and json.loads(raw[0])["payload"]["code"] == "unknown_type"
    assert isinstance(raw[1], bytes) and cbor2.loads(raw[1])["payload"]["code"] == "unknown_type"


def test_hello_opens_a_session_that_refuses_what_was_not_consented_and_bye_closes(settings: Settings) -> None:
    async def script(c: SessionController, ch: MemoryChannel, ports: LivePorts) -> Any:
        await c.receive(cbor2.dumps(envelope("hello", {**NO_MEDIA, "rate_hz": 30, "strategy": "hybrid"})))
        welcome = ch.control[0]
        assert welcome["type"] == "welcome" and welcome["payload"]["strategy"] == "hybrid"
        assert welcome["payload"]["adaptive"] is False and len(ports.registry) == 1
        await c.receive(cbor2.dumps(envelope("video_frame", {"image": b"x"})))
        await c.receive(cbor2.dumps(envelope("audio_chunk", {"pcm": b"\x00\x00", "sample_rate_hz": 16000})))
        await c.receive(cbor2.dumps(envelope("hello", NO_MEDIA)))
        await c.receive(cbor2.dumps(envelope("calibration_start", {"user_id": "u"})))
        await asyncio.sleep(0.1)
        assert any(m["type"] == "avatar_frame" for m in ch.data)  # the output clock runs without media
        await c.receive(cbor2.dumps(envelope("bye")))
        assert c.close_code == CloseCode.NORMAL
        c.end()
        return codes(ch), len(ports.registry)

    errors, open_sessions = run(settings, script)
    assert errors == ["no_consent", "no_consent", "bad_hello", "no_consent"] and open_sessions == 0


def test_configure_answers_with_the_new_configuration_or_a_specific_error(settings: Settings) -> None:
    async def script(c: SessionController, ch: MemoryChannel, _: LivePorts) -> Any:
        await c.receive(cbor2.dumps(envelope("hello", NO_MEDIA)))
        await c.receive(
            cbor2.dumps(
                envelope(
                    "configure", {"strategy": "emotion_preset", "adaptive": True, "compare": {"strategy": "hybrid"}}
                )
            )
        )
        await c.receive(cbor2.dumps(envelope("configure", {"strategy": "au_linear", "strategy_params": {"rows": 5}})))
        await c.receive(cbor2.dumps(envelope("configure", {"compare": None})))
        return [m for m in ch.control if m["type"] == "configured"], codes(ch)

    configured, errors = run(settings, script)
    assert configured[0]["payload"]["strategy"] == "emotion_preset" and configured[0]["payload"]["adaptive"] is True
    assert configured[0]["payload"]["compare"] == {"strategy": "hybrid", "strategy_params": {}}
    assert errors == ["bad_configure"] and configured[1]["payload"]["compare"] is None


def test_a_wrong_token_closes_at_once(settings: Settings) -> None:
    settings.token = "s3cret"

    async def script(c: SessionController, ch: MemoryChannel, _: LivePorts) -> Any:
        await c.receive(cbor2.dumps(envelope("hello", {**NO_MEDIA, "token": "guess"})))
        return c.close_code, codes(ch), c.session

    assert run(settings, script) == (CloseCode.POLICY, ["auth_failed"], None)


@pytest.mark.parametrize("oversized, close_code", [(False, CloseCode.POLICY), (True, CloseCode.TOO_BIG)])
def test_repeated_bad_messages_close_with_the_right_code(
    settings: Settings, oversized: bool, close_code: CloseCode
) -> None:
    settings.max_errors = 3
    settings.max_message_bytes = 1000

    async def script(c: SessionController, ch: MemoryChannel, _ports: LivePorts) -> Any:
        bad = b"\x00" * 2000 if oversized else b"\xff"
        for _ in range(3):
            await c.receive(bad)
        return c.close_code, codes(ch)

    code, errors = run(settings, script)
    assert code == close_code and errors[-1] == ErrorCode.TOO_MANY_ERRORS and len(errors) == 4


def test_calibration_needs_consent_a_user_and_one_run_at_a_time(settings: Settings) -> None:
    async def script(c: SessionController, ch: MemoryChannel, _: LivePorts) -> Any:
        await c.receive(cbor2.dumps(envelope("hello", {"consent": {"camera": True, "microphone": False}})))
        await c.receive(cbor2.dumps(envelope("calibration_start", {})))  # no user id
        await c.receive(cbor2.dumps(envelope("calibration_start", {"user_id": "u", "steps": ["say_aa"]})))
        await c.receive(cbor2.dumps(envelope("calibration_start", {"user_id": "u"})))
        await c.receive(cbor2.dumps(envelope("calibration_start", {"user_id": "u"})))
        await c.receive(cbor2.dumps(envelope("calibration_step", {"action": "pause"})))
        await c.receive(cbor2.dumps(envelope("calibration_step", {"action": "cancel"})))
        steps = [m["payload"]["state"] for m in ch.control if m["type"] == "calibration_step"]
        return codes(ch), steps

    errors, steps = run(settings, script)
    assert errors == ["bad_calibration", "no_consent", "bad_calibration", "bad_calibration"]
    assert steps == ["prepare", "cancelled"]


def test_simultaneous_hellos_cannot_pass_the_session_limit(settings: Settings) -> None:
    """20 hellos at once with a limit of 8 were all admitted: the check and the registration
    were separated by awaits (model loading). Exactly 8 get a session now."""
    settings.max_sessions = 8

    async def scenario() -> tuple[int, int, int, bool]:
        ports = live_ports(settings)
        clients = [(SessionController(ports, ch), ch) for ch in (MemoryChannel() for _ in range(20))]
        await asyncio.gather(
            *(c.receive(cbor2.dumps(envelope("hello", {"consent": {"camera": True}}))) for c, _ in clients)
        )
        admitted = len(ports.registry)
        busy = sum(codes(ch) == ["server_busy"] for _, ch in clients)
        welcomed = sum(ch.control[0]["type"] == "welcome" for _, ch in clients)
        for c, _ in clients:
            c.end()
        return admitted, busy, welcomed, ports.registry.full

    admitted, busy, welcomed, full_after = asyncio.run(scenario())
    assert (admitted, welcomed, busy) == (8, 8, 12) and not full_after


@pytest.mark.parametrize(
    "payload",
    [
        {"strategy": "emotion_preset", "strategy_params": {"intensity": "abc"}},
        {"compare": {"strategy": "hybrid", "strategy_params": {"accent": "abc"}}},
    ],
)
def test_bad_strategy_params_are_refused_by_name_not_after_the_welcome(
    settings: Settings, payload: dict[str, Any]
) -> None:
    """intensity "abc" used to pass the hello, then kill the output task at its first tick."""

    async def script(c: SessionController, ch: MemoryChannel, _: LivePorts) -> Any:
        await c.receive(cbor2.dumps(envelope("hello", {**NO_MEDIA, **payload})))
        return ch.control

    replies = run(settings, script)
    assert [m["type"] for m in replies] == ["error"] and replies[0]["payload"]["code"] == "bad_hello"
    assert "must be a number" in replies[0]["payload"]["message"]


def test_bad_strategy_params_in_configure_are_refused_by_name(settings: Settings) -> None:
    async def script(c: SessionController, ch: MemoryChannel, _: LivePorts) -> Any:
        await c.receive(cbor2.dumps(envelope("hello", {**NO_MEDIA, "strategy": "direct"})))
        await c.receive(cbor2.dumps(envelope("configure", {"strategy": "hybrid", "strategy_params": {"acent": 1}})))
        await c.receive(cbor2.dumps(envelope("configure", {"strategy_params": {"accent": 10**400}})))
        await asyncio.sleep(0.1)
        return (
            [m["payload"] for m in ch.control if m["type"] == "error"],
            c.session.strategy.name if c.session else None,
            ch.data,
        )

    errors, strategy, frames = run(settings, script)
    assert [e["code"] for e in errors] == ["bad_configure", "bad_configure"]
    assert "no parameter 'acent'" in errors[0]["message"] and "hybrid.accent" not in errors[0]["message"]
    assert "direct.accent" not in errors[1]["message"] and "no parameter 'accent'" in errors[1]["message"]
    assert strategy == "direct" and frames  # the session goes on


def test_a_takeover_hello_that_is_refused_leaves_the_named_session_alive(settings: Settings) -> None:
    """Issue 24 item 10: a hello naming a live session with an unknown rig closed the victim
    with 4409 before it was refused itself. The old session closes only once the new one runs,
    at the session limit too."""
    settings.max_sessions = 1

    async def scenario() -> tuple[CloseCode | None, list[str], CloseCode | None, bool]:
        ports = live_ports(settings)
        refused_ch = MemoryChannel()
        victim, refused, taker = (SessionController(ports, ch) for ch in (MemoryChannel(), refused_ch, MemoryChannel()))
        named = {**NO_MEDIA, "session_name": "alice-stream"}
        await victim.receive(cbor2.dumps(envelope("hello", named)))
        await refused.receive(cbor2.dumps(envelope("hello", {**named, "rig": "no-such-rig"})))
        alive = victim.close_code
        await taker.receive(cbor2.dumps(envelope("hello", named)))  # a good one takes it over
        taken = ports.registry.get("alice-stream") is taker.session and taker.session is not None
        for c in (victim, refused, taker):
            c.end()
        return alive, codes(refused_ch), victim.close_code, taken

    alive, refused_codes, replaced, taken = asyncio.run(scenario())
    assert alive is None and refused_codes == ["bad_hello"]
    assert replaced == CloseCode.REPLACED and taken


def test_an_unnamed_sessions_id_is_not_a_name_to_take_it_over_by(settings: Settings) -> None:
    """A hello whose session_name was another client's random session id closed that session
    (4409) and took its id and its watchers."""

    async def scenario() -> tuple[list[str], CloseCode | None, bool]:
        ports = live_ports(settings)
        victim_ch, thief_ch = MemoryChannel(), MemoryChannel()
        victim, thief = SessionController(ports, victim_ch), SessionController(ports, thief_ch)
        await victim.receive(cbor2.dumps(envelope("hello", NO_MEDIA)))
        sid = victim_ch.control[0]["payload"]["session_id"]
        await thief.receive(cbor2.dumps(envelope("hello", {**NO_MEDIA, "session_name": sid})))
        intact = ports.registry.get(sid) is victim.session and victim.session is not None
        for c in (victim, thief):
            c.end()
        return codes(thief_ch), victim.close_code, intact

    thief_codes, victim_code, intact = asyncio.run(scenario())
    assert thief_codes == ["bad_hello"] and victim_code is None and intact
