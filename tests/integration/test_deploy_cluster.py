"""deploy/: the compose file's services agree with the roles and the NATS users, and the NATS
config's per-role permissions hold on a real nats-server (tests/support/nats_server.py runs this file):
an edge cannot read what clients send to workers, a worker cannot pose as a client."""

from __future__ import annotations

import asyncio

import nats as nats_client
import pytest
import yaml
from nats.errors import Error as NatsError

from tests.support.nats_server import NatsServer
from tests.support.paths import REPO

DEPLOY = REPO / "deploy"


def test_the_compose_file_runs_each_role_as_its_own_nats_user() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert "./nats.conf:/etc/nats/nats.conf:ro" in services["nats"]["volumes"]
    for name, role in (("edge", "edge"), ("worker", "worker"), ("worker-gpu", "worker")):
        service = services[name]
        assert service["command"] == ["--role", role]
        assert service["environment"]["AVATAR_DRIVER_CLUSTER"].startswith(f"nats://{role}:")
    assert services["worker-gpu"]["build"]["args"]["GPU"] == "1"
    assert 'ENTRYPOINT ["avatar-driver", "serve"]' in (DEPLOY / "Dockerfile").read_text()
    gateway = services["gateway"]["volumes"][0].split(":")[0]
    assert (DEPLOY / gateway).is_file()


def test_nats_listens_and_stores_where_its_environment_says() -> None:
    """Issue 25, item 9: deploy/nats.conf hard-coded 127.0.0.1:4222 and /data/jetstream, so a dev
    box had to edit it. Both come from the environment; compose sets them for its network and
    volume (nats-server has no defaults: it refuses to start while one is unset)."""
    conf = (DEPLOY / "nats.conf").read_text()
    assert "listen: $AVATAR_NATS_LISTEN" in conf and "store_dir: $AVATAR_NATS_STORE_DIR" in conf
    assert "127.0.0.1:4222" not in conf.split("listen:")[1].splitlines()[0]
    nats = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]["nats"]
    env = nats["environment"]
    assert env["AVATAR_NATS_LISTEN"] == "0.0.0.0:4222" and env["AVATAR_NATS_STORE_DIR"] == "/data/jetstream"
    assert "jetstream:/data/jetstream" in nats["volumes"]
    assert env["AVATAR_NATS_EDGE_PASSWORD"].startswith("${AVATAR_NATS_EDGE_PASSWORD:?")
    assert env["AVATAR_NATS_WORKER_PASSWORD"].startswith("${AVATAR_NATS_WORKER_PASSWORD:?")


def test_the_tests_nats_server_runs_the_file_unchanged_on_its_own_port(nats: NatsServer) -> None:
    assert nats.config == DEPLOY / "nats.conf"
    assert nats.env["AVATAR_NATS_LISTEN"] == f"127.0.0.1:{nats.port}"
    assert not permission_errors(nats.url("worker"), [], [])  # it listens where it was told


def permission_errors(url: str, subscribe: list[str], publish: list[str]) -> list[str]:
    async def scenario() -> list[str]:
        errors: list[str] = []

        async def on_error(e: Exception) -> None:
            errors.append(str(e))

        client = await nats_client.connect(url, error_cb=on_error, allow_reconnect=False)
        for subject in subscribe:
            await client.subscribe(subject)
        for subject in publish:
            await client.publish(subject, b"x")
        await client.flush()
        await asyncio.sleep(0.3)
        await client.close()
        return errors

    return asyncio.run(scenario())


def test_an_edge_cannot_read_what_clients_send_nor_take_claims(nats: NatsServer) -> None:
    errors = permission_errors(nats.url("edge"), ["avatar.conn.someone.in", "avatar.claim"], [])
    assert len(errors) == 2 and all("permissions violation" in e.lower() for e in errors)


def test_a_worker_cannot_pose_as_a_client_or_an_edge(nats: NatsServer) -> None:
    errors = permission_errors(
        nats.url("worker"),
        ["avatar.conn.someone.out"],
        ["avatar.conn.someone.in", "avatar.claim", "avatar.alive.edge.e1"],
    )
    assert len(errors) == 4 and all("permissions violation" in e.lower() for e in errors)


def test_a_wrong_password_is_refused(nats: NatsServer) -> None:
    with pytest.raises(NatsError, match="Authorization Violation"):
        permission_errors(nats.url("edge").replace("edge-secret", "guess"), [], [])
