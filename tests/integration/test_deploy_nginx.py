"""The TLS example of docs/security.md, run: deploy/nginx/avatar-driver.conf in front of a real
server, with a self-signed certificate — HTTPS REST with the token, a WSS session and a WSS
watcher, and the watcher's token absent from nginx's log."""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import cbor2
import httpx2
import pytest
import websockets

from server.settings import Settings
from tests.support.paths import REPO
from tests.support.sockets import free_tcp_port

TOKEN = "tls-test-token"
# What the nginx fixture gives: its HTTPS port, a client context trusting its certificate, its access log.
Nginx = tuple[int, ssl.SSLContext, Path]


@pytest.fixture()
def settings_behind_tls(settings: Settings) -> Settings:
    settings.token = TOKEN
    return settings


@pytest.fixture()
def nginx(tmp_path: Path, settings_behind_tls: Settings, live_server: int) -> Iterator[Nginx]:
    if shutil.which("nginx") is None:
        pytest.fail("nginx is not installed (Debian package nginx-light; .ci/run installs it)")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    port = free_tcp_port()
    site = (REPO / "deploy/nginx/avatar-driver.conf").read_text()
    for old, new in (
        ("listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;"),
        ("avatar.example.com;", "localhost;"),
        ("/etc/ssl/certs/avatar.example.com.pem", str(cert)),
        ("/etc/ssl/private/avatar.example.com.key", str(key)),
        ("/var/log/nginx/avatar-driver.log", str(tmp_path / "access.log")),
        ("http://127.0.0.1:8000", f"http://127.0.0.1:{live_server}"),
    ):
        assert old in site, f"the example no longer has {old!r}"
        site = site.replace(old, new)
    temp = "".join(
        f"{kind}_temp_path {tmp_path / kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (tmp_path / "nginx.conf").write_text(
        f"user root;\nworker_processes 1;\npid {tmp_path / 'nginx.pid'};\nerror_log {tmp_path / 'error.log'};\n"
        f"events {{}}\nhttp {{\n{temp}\n{site}\n}}\n"
    )
    proc = subprocess.Popen(["nginx", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-g", "daemon off;"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail(f"nginx did not start: {(tmp_path / 'error.log').read_text()}")
    ctx = ssl.create_default_context(cafile=str(cert))
    yield port, ctx, tmp_path / "access.log"
    proc.terminate()
    proc.wait(10)


def test_the_tls_example_carries_rest_sessions_and_watchers(nginx: Nginx) -> None:
    port, ctx, log = nginx
    base, wss = f"https://localhost:{port}", f"wss://localhost:{port}"

    async def scenario() -> None:
        async with httpx2.AsyncClient(base_url=base, verify=ctx) as http:
            assert (await http.get("/healthz")).status_code == 200
            assert (await http.get("/v1/rigs")).status_code == 401
            rigs = await http.get("/v1/rigs", headers={"Authorization": f"Bearer {TOKEN}"})
            assert rigs.status_code == 200 and {r["id"] for r in rigs.json()} >= {"arkit52"}
        async with websockets.connect(f"{wss}/v1/stream", ssl=ctx) as ws:
            await ws.send(cbor2.dumps({"type": "hello", "payload": {"consent": {}, "rate_hz": 30, "token": TOKEN}}))
            sid = cbor2.loads(await ws.recv(decode=False))["payload"]["session_id"]
            async with websockets.connect(
                f"{wss}/v1/sessions/{sid}/watch?format=packed&token={TOKEN}", ssl=ctx
            ) as watcher:
                assert cbor2.loads(await watcher.recv(decode=False))["payload"]["watching"] is True
                frames = 0
                while frames < 10:
                    frames += cbor2.loads(await watcher.recv(decode=False)).get(0) == 1

    asyncio.run(scenario())
    time.sleep(0.2)  # nginx writes its log line when the connection closes
    logged = log.read_text()
    assert "/v1/sessions/" in logged and "GET /healthz" in logged
    assert TOKEN not in logged
