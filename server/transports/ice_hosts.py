"""Where a WebRTC peer's ICE gathers its host candidates (and so binds its UDP sockets).

aioice gathers on every interface but loopback (`aioice.ice.get_host_addresses`), whatever
address the server serves on: a server on `--host 127.0.0.1` opened ICE ports on the LAN, and
had none on loopback. aioice has no parameter for it, so its address lookup is wrapped once
(`install`): while a peer answers inside `gathering_on(addresses)`, its gatherers get those
addresses; everywhere else (another RTCPeerConnection in the process, a test's client) aioice's
own answer. A context variable carries the choice, so concurrent peers never see each other's.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import aioice.ice

log = logging.getLogger(__name__)
EVERY_INTERFACE = ("", "*", "0.0.0.0", "::", "[::]")
LOOPBACK_NAMES = {"localhost": "127.0.0.1", "ip6-localhost": "::1"}

_chosen: ContextVar[tuple[str, ...] | None] = ContextVar("ice_host_addresses", default=None)
_aioice_host_addresses = aioice.ice.get_host_addresses


def _host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    """aioice's lookup, unless the peer being answered chose its addresses."""
    chosen = _chosen.get()
    if chosen is None:
        return _aioice_host_addresses(use_ipv4, use_ipv6)
    return [a for a in chosen if (use_ipv6 if ":" in a else use_ipv4)]


def install() -> None:
    """Routes aioice's host address lookup through `_host_addresses`; idempotent."""
    aioice.ice.get_host_addresses = _host_addresses


@contextmanager
def gathering_on(addresses: tuple[str, ...] | None) -> Iterator[None]:
    """ICE gathering started inside this block uses ``addresses`` (None: every interface)."""
    reset = _chosen.set(addresses)
    try:
        yield
    finally:
        _chosen.reset(reset)


def ice_addresses(setting: str, serve_host: str) -> tuple[str, ...] | None:
    """The addresses of `webrtc_ice_host` (comma-separated IPs or names; "*": every interface),
    or, when it is empty, of the address the server serves on. None: every interface.
    ValueError for a name that resolves to nothing (a setting that cannot be honoured)."""
    entries = [e.strip() for e in setting.split(",") if e.strip()] or [serve_host.strip()]
    if any(e in EVERY_INTERFACE for e in entries):
        return None
    addresses: list[str] = []
    for entry in entries:
        for address in _resolve(entry.strip("[]")):
            if address not in addresses:
                addresses.append(address)
    return tuple(addresses)


def _resolve(entry: str) -> list[str]:
    if entry in LOOPBACK_NAMES:
        return [LOOPBACK_NAMES[entry]]
    try:
        return [str(ipaddress.ip_address(entry))]
    except ValueError:
        pass
    try:  # a host name: once, at startup
        infos = socket.getaddrinfo(entry, None, type=socket.SOCK_DGRAM)
    except OSError as e:
        raise ValueError(f"WebRTC ICE host {entry!r} does not resolve ({e}); set AVATAR_DRIVER_WEBRTC_ICE_HOST") from e
    return [str(info[4][0]) for info in infos]
