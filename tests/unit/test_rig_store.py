"""RigStore keeps an uploaded avatar file beside its rig (issue 25 item 2: OBS and watchers drew
the default head because the file was thrown away): written with the rig, named by the rig's
report, served only for rigs it holds, removed with the rig, never kept on a cluster."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from avatar_mapping.rig import RigDefinition
from server.assets.rig_store import AVATAR_REPORT_KEY, RigStore, avatar_content_type, avatar_url
from tests.support.paths import REPO

GLB = b"glTF\x02\x00\x00\x00" + bytes(range(256)) * 4


def uploaded(store: RigStore, rig_id: str, report: dict[str, Any] | None = None) -> RigDefinition:
    builtin = store.get("arkit52")
    assert builtin is not None
    document = {**builtin.to_dict(), "id": rig_id, "report": report or {}}
    return RigDefinition.from_dict(document)


def test_an_uploaded_avatar_is_kept_beside_its_rig_and_named_by_it(tmp_path: Path) -> None:
    store = RigStore.from_dir(REPO / "rigs", tmp_path / "rigs")
    rig = store.add(uploaded(store, "mine"), avatar=GLB)
    digest = hashlib.sha256(GLB).hexdigest()
    assert rig.report[AVATAR_REPORT_KEY] == {"bytes": len(GLB), "sha256": digest}
    assert avatar_url(rig) == f"/v1/rigs/mine/avatar?v={digest[:16]}"
    stored = store.avatar("mine")
    assert stored is not None and stored.path.read_bytes() == GLB and stored.sha256 == digest
    assert stored.content_type == "model/gltf-binary"
    # A restarted server finds both, and its sessions' rig still names the file.
    again = RigStore.from_dir(REPO / "rigs", tmp_path / "rigs")
    reloaded = again.get("mine")
    assert reloaded is not None and avatar_url(reloaded) == avatar_url(rig)
    assert again.avatar("mine") == stored


def test_built_in_rigs_unknown_ids_and_rigs_without_a_file_have_no_avatar(tmp_path: Path) -> None:
    store = RigStore.from_dir(REPO / "rigs", tmp_path / "rigs")
    builtin = store.get("arkit52")
    assert builtin is not None and avatar_url(builtin) is None
    store.add(uploaded(store, "bare"))
    assert store.avatar("arkit52") is None and store.avatar("bare") is None
    assert store.avatar("../rigs/arkit52") is None and store.avatar("nothing") is None


def test_a_report_cannot_claim_a_file_the_store_did_not_write(tmp_path: Path) -> None:
    """The marker is this store's: an uploaded rig whose report names a file gets it dropped."""
    store = RigStore.from_dir(REPO / "rigs", tmp_path / "rigs")
    forged = {AVATAR_REPORT_KEY: {"bytes": 4, "sha256": "0" * 64}}
    rig = store.add(uploaded(store, "forged", forged))
    assert avatar_url(rig) is None and store.avatar("forged") is None


def test_removing_or_replacing_a_rig_removes_its_avatar_file(tmp_path: Path) -> None:
    folder = tmp_path / "rigs"
    store = RigStore.from_dir(REPO / "rigs", folder)
    store.add(uploaded(store, "gone"), avatar=GLB)
    store.remove("gone")
    assert not (folder / "gone.glb").exists() and store.avatar("gone") is None
    store.add(uploaded(store, "swapped"), avatar=GLB)
    store.add(uploaded(store, "swapped"), replace=True)  # a rig without a file now
    assert not (folder / "swapped.glb").exists() and store.avatar("swapped") is None
    store.add(uploaded(store, "owned"), owner="u-1", avatar=GLB)
    assert store.erase_user("u-1") == 1 and list(folder.glob("*.glb")) == []


class DictMirror:
    """A cluster's shared rigs, in memory (the real one is a JetStream object store)."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}

    def put(self, rig_id: str, document: dict[str, Any]) -> None:
        self.docs[rig_id] = document

    def get(self, rig_id: str) -> dict[str, Any] | None:
        return self.docs.get(rig_id)

    def delete(self, rig_id: str) -> bool:
        return self.docs.pop(rig_id, None) is not None

    def documents(self) -> dict[str, dict[str, Any]]:
        return dict(self.docs)


def test_a_cluster_keeps_only_the_rig(tmp_path: Path) -> None:
    """The object store holds rig documents, not avatar files: no file, no avatar_url."""
    store = RigStore.from_dir(REPO / "rigs", mirror=DictMirror())
    rig = store.add(uploaded(store, "shared"), avatar=GLB)
    assert avatar_url(rig) is None and store.avatar("shared") is None
    assert list(tmp_path.iterdir()) == []


def test_the_content_type_follows_the_files_magic() -> None:
    assert avatar_content_type(GLB[:4]) == "model/gltf-binary"
    assert avatar_content_type(b'{"as') == "model/gltf+json"
