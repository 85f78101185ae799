"""Loads rig definitions from the rigs/ folder (the only place rigs touch the disk), and keeps
uploaded rigs with the avatar files they were built from (so watchers and OBS overlays draw the
publisher's avatar, not the default head: `GET /v1/rigs/{id}/avatar`, `welcome.avatar_url`)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any, Protocol

from avatar_mapping.rig import RigDefinition, RigError

# Where an uploaded rig notes its stored avatar file: {"bytes": n, "sha256": hex} in its report
# (the rig document travels everywhere the rig does, so a session's rig says whether it has one).
AVATAR_REPORT_KEY = "avatar_file"
GLB_MAGIC = b"glTF"


def avatar_url(rig: RigDefinition) -> str | None:
    """The path (on this server) of the rig's stored avatar file, versioned by its digest so a
    replaced avatar gets a new URL and an unchanged one can be cached for good; None for a rig
    without one (built-in rigs, rigs from a cluster's object store)."""
    stored = rig.report.get(AVATAR_REPORT_KEY)
    if not isinstance(stored, dict) or not isinstance(stored.get("sha256"), str):
        return None
    return f"/v1/rigs/{rig.id}/avatar?v={stored['sha256'][:16]}"


def avatar_content_type(head: bytes) -> str:
    """GLB and VRM files are binary glTF; anything else the inspector accepted is glTF JSON."""
    return "model/gltf-binary" if head[:4] == GLB_MAGIC else "model/gltf+json"


@dataclasses.dataclass(frozen=True)
class StoredAvatar:
    path: Path
    sha256: str
    content_type: str


class RigMirror(Protocol):
    """Where a cluster keeps uploaded rigs (a JetStream object store: server/cluster/
    rig_objects.py): each rig's JSON document, with its owner. It is the truth; this
    process's copies are refreshed from it."""

    def put(self, rig_id: str, document: dict[str, Any]) -> None: ...

    def get(self, rig_id: str) -> dict[str, Any] | None: ...

    def delete(self, rig_id: str) -> bool: ...

    def documents(self) -> dict[str, dict[str, Any]]: ...


class RigStore:
    """Built-in rigs (read-only) plus uploaded ones, saved as JSON in `upload_dir` with the user
    who uploaded them, when they said (so erasing a user removes their avatars' rigs), each with
    its avatar file beside it (`<id>.glb`) — or, on a cluster, in the `mirror` every process
    shares (the rig only: a cluster keeps no avatar files, its welcomes carry no avatar_url)."""

    def __init__(
        self,
        rigs: dict[str, RigDefinition],
        upload_dir: Path | None = None,
        uploaded: dict[str, RigDefinition] | None = None,
        owners: dict[str, str] | None = None,
        mirror: RigMirror | None = None,
    ):
        self._builtin = dict(rigs)
        self._uploaded = dict(uploaded or {})
        self._owners = dict(owners or {})
        self._rigs = {**self._uploaded, **self._builtin}
        self.upload_dir = upload_dir
        self.mirror = mirror

    @classmethod
    def from_dir(cls, folder: Path, upload_dir: Path | None = None, mirror: RigMirror | None = None) -> RigStore:
        rigs, _ = _load(folder)
        if not rigs:
            raise RigError(f"no rig definitions found in {folder}")
        if mirror is not None:
            return cls(rigs, mirror=mirror)
        uploaded, owners = _load(upload_dir) if upload_dir is not None and upload_dir.is_dir() else ({}, {})
        return cls(rigs, upload_dir, uploaded, owners)

    def owner(self, rig_id: str) -> str | None:
        if self.mirror is not None:
            self._refresh(rig_id)
        return self._owners.get(rig_id)

    def _refresh(self, rig_id: str | None = None) -> None:
        """This process's copies of the mirror's rigs (one, or all), as the mirror has them now."""
        assert self.mirror is not None
        if rig_id is not None:
            document = self.mirror.get(rig_id)
            documents = {rig_id: document} if document is not None else {}
            stale = [rig_id]
        else:
            documents, stale = self.mirror.documents(), list(self._uploaded)
        for gone in stale:
            self._uploaded.pop(gone, None)
            self._rigs.pop(gone, None)
            self._owners.pop(gone, None)
        for rid, document in documents.items():
            if rid in self._builtin:
                continue
            rig = RigDefinition.from_dict(document)
            self._uploaded[rid] = self._rigs[rid] = rig
            if isinstance(document.get("owner"), str):
                self._owners[rid] = document["owner"]

    def add(
        self, rig: RigDefinition, replace: bool = False, owner: str | None = None, avatar: bytes | None = None
    ) -> RigDefinition:
        """Save an uploaded rig, with the avatar file it was built from when given (not on a
        cluster); built-in rigs cannot be replaced. Returns the rig as stored (its report notes
        the avatar file)."""
        if rig.id in self._builtin:
            raise FileExistsError(f"rig {rig.id!r} is built in; choose another id")
        if self.mirror is not None:
            self._refresh(rig.id)
        if rig.id in self._uploaded and not replace:
            raise FileExistsError(f"rig {rig.id!r} exists; pass replace=true to overwrite it")
        if self.mirror is None and self.upload_dir is None:
            raise RuntimeError("this server has no folder for uploaded rigs")
        report = {k: v for k, v in rig.report.items() if k != AVATAR_REPORT_KEY}  # only this store says so
        if avatar is not None and self.mirror is None:
            report[AVATAR_REPORT_KEY] = {"bytes": len(avatar), "sha256": hashlib.sha256(avatar).hexdigest()}
        rig = dataclasses.replace(rig, report=report)
        document = {**rig.to_dict(), **({"owner": owner} if owner else {})}
        if self.mirror is not None:
            self.mirror.put(rig.id, document)
        else:
            assert self.upload_dir is not None
            self.upload_dir.mkdir(parents=True, exist_ok=True)
            if avatar is not None:  # the file first: a rig that says it has one has it
                tmp_avatar = self.upload_dir / f".{rig.id}.glb.tmp"
                tmp_avatar.write_bytes(avatar)
                tmp_avatar.replace(self.upload_dir / f"{rig.id}.glb")
            tmp = self.upload_dir / f".{rig.id}.json.tmp"
            tmp.write_text(json.dumps(document, indent=1))
            tmp.replace(self.upload_dir / f"{rig.id}.json")  # atomic
            if avatar is None:  # a replaced rig's old avatar is not its avatar
                (self.upload_dir / f"{rig.id}.glb").unlink(missing_ok=True)
        self._uploaded[rig.id] = rig
        self._rigs[rig.id] = rig
        self._owners.pop(rig.id, None)
        if owner:
            self._owners[rig.id] = owner
        return rig

    def avatar(self, rig_id: str) -> StoredAvatar | None:
        """The stored avatar file of an uploaded rig; None for built-in rigs, rigs without
        one and unknown ids (only ids of rigs this store holds name a path)."""
        rig = self._uploaded.get(rig_id) if self.mirror is None else None
        if rig is None or self.upload_dir is None or avatar_url(rig) is None:
            return None
        path = self.upload_dir / f"{rig.id}.glb"
        try:
            with path.open("rb") as f:
                head = f.read(4)
        except FileNotFoundError:
            return None
        return StoredAvatar(path, str(rig.report[AVATAR_REPORT_KEY]["sha256"]), avatar_content_type(head))

    def remove(self, rig_id: str) -> None:
        """Delete an uploaded rig; KeyError when there is none of that id, PermissionError for a
        built-in one."""
        if rig_id in self._builtin:
            raise PermissionError(f"rig {rig_id!r} is built in")
        if self.mirror is not None:
            if not self.mirror.delete(rig_id):
                raise KeyError(rig_id)
            self._uploaded.pop(rig_id, None)
            self._rigs.pop(rig_id, None)
            self._owners.pop(rig_id, None)
            return
        if rig_id not in self._uploaded:
            raise KeyError(rig_id)
        if self.upload_dir is not None:
            (self.upload_dir / f"{rig_id}.json").unlink(missing_ok=True)
            (self.upload_dir / f"{rig_id}.glb").unlink(missing_ok=True)
        del self._uploaded[rig_id], self._rigs[rig_id]
        self._owners.pop(rig_id, None)

    def erase_user(self, user_id: str) -> int:
        """Deletes every rig the user uploaded, with its avatar file; returns how many."""
        if self.mirror is not None:
            self._refresh()
        owned = [r for r, owner in self._owners.items() if owner == user_id]
        for rig_id in owned:
            self.remove(rig_id)
        return len(owned)

    def get(self, rig_id: str) -> RigDefinition | None:
        if self.mirror is not None and rig_id not in self._builtin:
            self._refresh(rig_id)
        return self._rigs.get(rig_id)

    def ids(self) -> list[str]:
        if self.mirror is not None:
            self._refresh()
        return sorted(self._rigs)

    def all(self) -> list[RigDefinition]:
        return [self._rigs[i] for i in self.ids()]


def _load(folder: Path) -> tuple[dict[str, RigDefinition], dict[str, str]]:
    """The rigs of a folder, and the owners of those that have one."""
    rigs: dict[str, RigDefinition] = {}
    owners: dict[str, str] = {}
    for path in sorted(Path(folder).glob("*.json")):
        try:
            data = json.loads(path.read_text())
            rig = RigDefinition.from_dict(data)
        except (ValueError, RigError) as e:  # json.JSONDecodeError is a ValueError
            raise RigError(f"{path}: {e}") from None
        rigs[rig.id] = rig
        if isinstance(data.get("owner"), str):
            owners[rig.id] = data["owner"]
    return rigs, owners
