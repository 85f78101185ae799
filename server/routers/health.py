"""`GET /healthz`: the status, for load balancers and people; the one endpoint without a token.

On a cluster it also says the process's role and, on an edge, whether its NATS connection is
up and which workers it hears heartbeats from: an edge whose NATS is gone, or that hears no
worker, answers but cannot run a session (issue 25, item 9). Read through the parts' public
faces only (the edge's NATS client; the workers its eraser follows, cluster/erasure.py), so
that an embedded server never imports the cluster."""

from __future__ import annotations

from typing import Annotated, Any, Protocol, runtime_checkable

from fastapi import APIRouter, Depends

from .. import __version__
from ..services import Services
from .deps import ServicesDep

router = APIRouter()


class _NatsClient(Protocol):
    @property
    def is_connected(self) -> bool: ...


@runtime_checkable
class _EdgeOnNats(Protocol):
    """A cluster edge (server/cluster/edge.py `ClusterEdge`): its relay connection."""

    client: _NatsClient


@runtime_checkable
class _WorkerHeartbeats(Protocol):
    """An edge's `ClusterEraser`: the workers heard within `worker_timeout_s`."""

    def alive(self) -> set[str]: ...


async def cluster_status_of(svc: ServicesDep) -> dict[str, Any] | None:
    """An async dependency, so that it runs on the event loop, where the cluster's state changes
    (the endpoint itself runs in a thread)."""
    return cluster_status(svc) if svc.settings.cluster else None


@router.get("/healthz")
def healthz(svc: ServicesDep, cluster: Annotated[dict[str, Any] | None, Depends(cluster_status_of)]) -> dict[str, Any]:
    models = svc.models
    return {
        "status": "ok",
        "version": __version__,
        "sessions": len(svc.registry),
        "models": {name: models.path(name).exists() for name in sorted(models.manifest)},
        "speech_recognition": svc.speech.status.as_dict(),
        **({"cluster": cluster} if cluster is not None else {}),
    }


def cluster_status(svc: Services) -> dict[str, Any]:
    """``role``; on an edge (or `all`) also ``nats_connected`` and ``workers_alive``, the ids of
    the workers whose heartbeats it hears (sorted). A worker says its role only."""
    status: dict[str, Any] = {"role": svc.settings.role}
    if isinstance(svc.edge, _EdgeOnNats):
        status["nats_connected"] = bool(svc.edge.client.is_connected)
    if isinstance(svc.erase_on_workers, _WorkerHeartbeats):
        status["workers_alive"] = sorted(svc.erase_on_workers.alive())
    return status
