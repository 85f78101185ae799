"""What a transport needs from the server: the door's settings, metrics, and connections to
drive — declared here, satisfied by server/services.py (which transports never import)."""

from __future__ import annotations

from typing import Protocol

from ..live.controller import SessionController
from ..live.ports import Connection
from ..live.registry import WatchRefusal
from ..metrics import Metrics
from ..protocol.envelopes import Outgoing
from ..settings import Settings
from ..sinks.outbox import ClientChannel
from ..sinks.wire import Subscriber


class Gateway(Protocol):
    @property
    def settings(self) -> Settings: ...

    @property
    def metrics(self) -> Metrics: ...

    @property
    def relays_sessions(self) -> bool:
        """Sessions run elsewhere (a cluster edge relays them to workers)."""

    @property
    def sessions_full(self) -> bool:
        """This process takes no new session now."""

    def open_connection(self, channel: ClientChannel) -> Connection:
        """A publisher's connection: a session here, or relayed to a worker from an edge."""

    def open_session(self, channel: ClientChannel) -> SessionController:
        """A publisher's session in this process (WebRTC: its media tracks arrive here)."""

    async def watch(self, session_id: str, subscriber: Subscriber, wait: bool = False) -> Outgoing | WatchRefusal:
        """Subscribes a watcher; its first message, or why it cannot watch."""

    async def unwatch(self, session_id: str, subscriber: Subscriber) -> None: ...
