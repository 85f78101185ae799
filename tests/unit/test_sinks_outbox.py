"""The per-client outbox: control in order, data latest-wins, bounded, an explicit end."""

import asyncio

from server.sinks.outbox import Message, Outbox


def test_control_first_and_data_latest_wins() -> None:
    async def scenario() -> tuple[list[Message | None], list[str]]:
        drops: list[str] = []
        box = Outbox(max_data=2, on_drop=drops.append)
        for i in range(5):
            box.put_data(f"frame{i}")
        box.put_control("error")
        got = [await box.next() for _ in range(3)]
        return got, drops

    got, drops = asyncio.run(scenario())
    assert got == ["error", "frame3", "frame4"]
    assert drops == ["slow_client"] * 3


def test_next_waits_for_a_message() -> None:
    async def scenario() -> Message | None:
        box = Outbox()
        waiter = asyncio.create_task(box.next())
        await asyncio.sleep(0.01)
        assert not waiter.done()
        box.put_data("x")
        return await asyncio.wait_for(waiter, 1.0)

    assert asyncio.run(scenario()) == "x"


def test_end_lets_queued_messages_out_first_then_says_none() -> None:
    async def scenario() -> list[Message | None]:
        box = Outbox(on_drop=lambda r: None)
        box.put_control("welcome")
        box.put_data("frame")
        box.end()
        return [await box.next() for _ in range(3)]

    assert asyncio.run(scenario()) == ["welcome", "frame", None]


def test_control_overflow_drops_the_oldest_and_says_so() -> None:
    async def scenario() -> tuple[list[Message | None], list[str]]:
        drops: list[str] = []
        box = Outbox(max_control=3, on_drop=drops.append)
        for i in range(5):
            box.put_control(f"c{i}")
        return [await box.next() for _ in range(3)], drops

    got, drops = asyncio.run(scenario())
    assert got == ["c2", "c3", "c4"] and drops == ["control_overflow"] * 2
