"""Rigs and strategies: `GET /v1/rigs[/{id}]`, `POST /v1/rigs` (an avatar file in, its rig
out; the file is kept beside the rig), `GET /v1/rigs/{id}/avatar` (that file, for watchers
and OBS overlays: the watch token is enough), `GET /v1/strategies`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import FileResponse

from avatar_mapping.rig import RigError

from ..assets.rig_inspect import InspectLimits, RigInspectError, inspect_bytes, rig_id_from_name
from .deps import ServicesDep, read_body, run_tool
from .guard import watch_token_allowed

router = APIRouter()


@router.get("/v1/rigs")
def list_rigs(svc: ServicesDep) -> list[dict[str, Any]]:
    return [
        {
            "id": r.id,
            "name": r.name,
            "description": r.description,
            "channels": len(r.channels),
            "bones": list(r.bone_names),
        }
        for r in svc.rigs.all()
    ]


@router.get("/v1/rigs/{rig_id}")
def get_rig(rig_id: str, svc: ServicesDep) -> dict[str, Any]:
    rig = svc.rigs.get(rig_id)
    if rig is None:
        raise HTTPException(404, f"unknown rig {rig_id!r}; available: {svc.rigs.ids()}")
    return rig.to_dict()


@router.post("/v1/rigs", status_code=201)
async def upload_rig(
    request: Request,
    svc: ServicesDep,
    id: str | None = Query(None, description="rig id (default: file name)"),
    filename: str = Query("avatar.glb"),
    replace: bool = Query(False),
    user_id: str | None = Query(
        None, min_length=1, max_length=128, description="whose avatar it is (erasing the user removes it)"
    ),
) -> dict[str, Any]:
    """Body: the GLB/glTF/VRM file itself. Returns the rig definition built from it. Refused
    (503) before its body is read when it does not fit the budget of bodies in flight."""
    data = await read_body(request, svc.settings.max_upload_bytes, "the file")
    rig_id = id or Path(filename).stem
    limits = InspectLimits(max_decoded_bytes=svc.settings.max_rig_decoded_bytes)
    try:
        rig = await run_tool(svc, inspect_bytes, data, rig_id_from_name(rig_id), Path(filename).name, None, limits)
        rig = svc.rigs.add(rig, replace=replace, owner=user_id, avatar=data)
    except (RigInspectError, RigError) as e:
        raise HTTPException(422, str(e)) from None
    except FileExistsError as e:
        raise HTTPException(409, str(e)) from None
    described: dict[str, Any] = rig.to_dict()
    return described


@router.get(
    "/v1/rigs/{rig_id}/avatar",
    response_class=FileResponse,
    responses={200: {"content": {"model/gltf-binary": {}}}, 304: {}, 404: {}},
)
@watch_token_allowed
def get_avatar(
    rig_id: str, request: Request, svc: ServicesDep, v: str | None = Query(None, description="the digest prefix")
) -> Response:
    """The avatar file an uploaded rig was built from (what `welcome.avatar_url` names), so that
    watchers and OBS overlays draw the publisher's avatar. The full token or the watch token, as
    a Bearer header. Cached by its digest (ETag); immutable when the URL names the digest."""
    stored = svc.rigs.avatar(rig_id)
    if stored is None:
        raise HTTPException(404, f"rig {rig_id!r} has no stored avatar (built-in, unknown, or uploaded to a cluster)")
    etag = f'"{stored.sha256}"'
    versioned = v is not None and stored.sha256.startswith(v) and len(v) >= 16
    headers = {
        "ETag": etag,
        "Cache-Control": "private, max-age=31536000, immutable" if versioned else "private, no-cache",
    }
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    return FileResponse(stored.path, media_type=stored.content_type, headers=headers)


@router.delete("/v1/rigs/{rig_id}")
def delete_rig(rig_id: str, svc: ServicesDep) -> dict[str, Any]:
    """An uploaded rig (built-in ones stay)."""
    try:
        svc.rigs.remove(rig_id)
    except KeyError:
        raise HTTPException(404, f"no uploaded rig {rig_id!r}") from None
    except PermissionError as e:
        raise HTTPException(409, f"{e}; only uploaded rigs can be deleted") from None
    return {"deleted": rig_id}


@router.get("/v1/strategies")
def list_strategies(svc: ServicesDep) -> list[dict[str, Any]]:
    return svc.strategies.describe()
