"""Rigs and strategies: `GET /v1/rigs[/{id}]`, `POST /v1/rigs` (an avatar file in, its rig
out), `GET /v1/strategies`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request

from avatar_mapping.rig import RigError

from ..assets.rig_inspect import InspectLimits, RigInspectError, inspect_bytes, rig_id_from_name
from .deps import ServicesDep, read_body, run_tool

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
        svc.rigs.add(rig, replace=replace, owner=user_id)
    except (RigInspectError, RigError) as e:
        raise HTTPException(422, str(e)) from None
    except FileExistsError as e:
        raise HTTPException(409, str(e)) from None
    described: dict[str, Any] = rig.to_dict()
    return described


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
