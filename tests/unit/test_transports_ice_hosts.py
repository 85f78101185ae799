"""Where ICE gathers host candidates (server/transports/ice_hosts.py): the setting, else the
address the server serves on; aioice's lookup answers the chosen addresses only inside
`gathering_on`, so another RTCPeerConnection in the process keeps aioice's own."""

from __future__ import annotations

import asyncio

import aioice.ice

from server.transports import ice_hosts
from server.transports.ice_hosts import gathering_on, ice_addresses


def test_the_addresses_follow_the_setting_else_the_served_host() -> None:
    assert ice_addresses("", "127.0.0.1") == ("127.0.0.1",)  # loopback stays loopback
    assert ice_addresses("", "localhost") == ("127.0.0.1",)
    assert ice_addresses("", "::1") == ("::1",)
    assert ice_addresses("", "[::1]") == ("::1",)
    assert ice_addresses("", "192.0.2.7") == ("192.0.2.7",)
    assert ice_addresses("", "0.0.0.0") is None and ice_addresses("", "::") is None  # every interface
    assert ice_addresses("10.0.0.5, 10.0.0.5 ,fd00::2", "127.0.0.1") == ("10.0.0.5", "fd00::2")
    assert ice_addresses("*", "127.0.0.1") is None


def test_aioice_gathers_on_the_chosen_addresses_only_inside_the_block() -> None:
    ice_hosts.install()
    ice_hosts.install()  # idempotent
    own = ice_hosts._aioice_host_addresses(True, True)
    assert aioice.ice.get_host_addresses(True, True) == own
    with gathering_on(("127.0.0.1", "::1")):
        assert aioice.ice.get_host_addresses(True, True) == ["127.0.0.1", "::1"]
        assert aioice.ice.get_host_addresses(True, False) == ["127.0.0.1"]
        assert aioice.ice.get_host_addresses(False, True) == ["::1"]
    with gathering_on(None):
        assert aioice.ice.get_host_addresses(True, True) == own
    assert aioice.ice.get_host_addresses(True, True) == own


def test_concurrent_peers_see_their_own_choice() -> None:
    """The choice is a context variable: tasks started inside the block (aiortc gathers each
    transport in a task of its own) inherit it; a peer answering at the same time does not."""
    ice_hosts.install()

    async def peer(addresses: tuple[str, ...]) -> list[str]:
        with gathering_on(addresses):
            await asyncio.sleep(0.01)
            return await asyncio.create_task(asyncio.to_thread(aioice.ice.get_host_addresses, True, True))

    async def both() -> list[list[str]]:
        return list(await asyncio.gather(peer(("127.0.0.1",)), peer(("192.0.2.9",))))

    assert asyncio.run(both()) == [["127.0.0.1"], ["192.0.2.9"]]
