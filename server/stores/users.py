"""Erasing a user: everything the server keeps that names them — every version of their
calibration table, the recordings of their sessions, their A/B votes and the rigs of the
avatars they uploaded with the avatar files kept beside them — with the bytes gone from the
files, not only from the indexes (SQLite's secure_delete and a truncated WAL; recording, rig
and avatar files unlinked).

On a cluster the stores this process holds are the shared JetStream ones (erased for real:
server/cluster/buckets.py), and what other machines keep of their own — the recordings of the
sessions each worker ran — is erased by each live worker on request (`WorkersErased`,
server/cluster/erasure.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from ..assets.rig_store import RigStore
from .calibration import CalibrationStorage
from .recordings import RecordingStore
from .votes import VoteStorage


@dataclass(frozen=True)
class Erased:
    user_id: str
    calibration_versions: int
    recordings: int
    votes: int
    rigs: int

    def as_dict(self) -> dict[str, str | int]:
        return asdict(self)

    def with_workers(self, workers: WorkersErased) -> Erased:
        """These counts and what the cluster's workers erased of their own."""
        return replace(self, recordings=self.recordings + workers.recordings)


@dataclass(frozen=True)
class WorkersErased:
    """What a cluster's workers erased of their own when asked: their recordings of the user;
    how many workers answered, and which of those known to be alive did not (their part is
    not erased yet: erasing again is safe)."""

    recordings: int
    answered: int
    unanswered: tuple[str, ...] = ()


def erase_user(
    user_id: str, calibration: CalibrationStorage, recordings: RecordingStore, votes: VoteStorage, rigs: RigStore
) -> Erased:
    """Blocking (SQLite, files): run it off the event loop."""
    return Erased(
        user_id,
        calibration.delete(user_id),
        recordings.erase_user(user_id),
        votes.erase_user(user_id),
        rigs.erase_user(user_id),
    )
