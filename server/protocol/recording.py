"""Feature recordings: a session's FaceFeatures/VoiceFeatures stream (never audio or video)
as a CBOR sequence (RFC 8742) — one header item, then one item per new measurement.

Header: ``{format: "avatar-driver-recording", version: 1, rig, strategy, strategy_params,
calibration (table JSON or null), rate_hz, created_ms, source, user_id?}`` (``user_id``: whose
session it was, so that erasing a user erases their recordings; absent in older files).
Item: ``{t_ms, face?, voice?}``: time since the start on the session's clock, and whichever
features changed, in the bit-exact feature codecs of features.py, so a replay sees exactly
the recorded values.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

import cbor2

from avatar_mapping.features import FaceFeatures
from avatar_mapping.voice_features import VoiceFeatures

from .features import face_from_cbor, face_to_cbor, voice_from_cbor, voice_to_cbor

FORMAT, VERSION = "avatar-driver-recording", 1


class RecordingError(ValueError):
    pass


@dataclass(frozen=True)
class RecordingHeader:
    rig: str
    strategy: str
    strategy_params: dict[str, Any]
    calibration: dict[str, Any] | None
    rate_hz: float
    created_ms: int
    source: str
    user_id: str | None = None

    def to_cbor(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "rig": self.rig,
            "strategy": self.strategy,
            "strategy_params": self.strategy_params,
            "calibration": self.calibration,
            "rate_hz": self.rate_hz,
            "created_ms": self.created_ms,
            "source": self.source,
            **({"user_id": self.user_id} if self.user_id is not None else {}),
        }


@dataclass(frozen=True, eq=False)
class Sample:
    t_ms: float
    face: FaceFeatures
    voice: VoiceFeatures


class Recorder:
    """Writes a recording as measurements change. Not thread-safe: one writer (the session's loop)."""

    def __init__(self, out: BinaryIO, header: RecordingHeader):
        self._out = out
        # The last written object and its encoding, per kind: a new object with the same
        # values (a stale face replaced by an absent one each tick) is not written again.
        self._last: dict[str, tuple[object, dict[str, Any] | None]] = {"face": (None, None), "voice": (None, None)}
        self.items = 0
        cbor2.dump(header.to_cbor(), out)
        out.flush()  # a recording says whose it is from its first tick (erasing a user finds it)

    def write(self, t_ms: float, face: FaceFeatures, voice: VoiceFeatures) -> None:
        item: dict[str, Any] = {"t_ms": float(t_ms)}
        for kind, value, encode in (
            ("face", face, partial(face_to_cbor, face)),
            ("voice", voice, partial(voice_to_cbor, voice)),
        ):
            last, last_encoded = self._last[kind]
            if value is last:
                continue
            encoded = encode()
            if encoded != last_encoded:
                item[kind] = encoded
            self._last[kind] = (value, encoded)
        if len(item) > 1:
            cbor2.dump(item, self._out)
            self.items += 1

    def close(self) -> None:
        self._out.close()


@dataclass(frozen=True, eq=False)
class Recording:
    header: RecordingHeader
    samples: tuple[Sample, ...]

    @property
    def duration_ms(self) -> float:
        return self.samples[-1].t_ms if self.samples else 0.0

    @classmethod
    def read(cls, path: Path) -> Recording:
        with Path(path).open("rb") as f:
            items = list(_items(f, path))
        if not items or items[0].get("format") != FORMAT:
            raise RecordingError(f"{path} is not an avatar-driver recording")
        if items[0].get("version") != VERSION:
            raise RecordingError(f"{path}: recording version {items[0].get('version')} is not {VERSION}")
        h = items[0]
        header = RecordingHeader(
            h["rig"],
            h["strategy"],
            h.get("strategy_params") or {},
            h.get("calibration"),
            float(h.get("rate_hz", 60.0)),
            int(h.get("created_ms", 0)),
            h.get("source", ""),
            h.get("user_id"),
        )
        face, voice = FaceFeatures.absent(0), VoiceFeatures.silent(0)
        samples = []
        for item in items[1:]:
            try:
                if "face" in item:
                    face = face_from_cbor(item["face"])
                if "voice" in item:
                    voice = voice_from_cbor(item["voice"])
                samples.append(Sample(float(item["t_ms"]), face, voice))
            except (KeyError, TypeError, ValueError) as e:
                raise RecordingError(f"{path}: item {len(samples) + 1} is malformed: {e!r}") from None
        return cls(header, tuple(samples))


def _items(f: io.BufferedReader, path: Path) -> Iterator[dict[str, Any]]:
    """Every item; the sequence ends only between items (a cut-off last item is an error)."""
    decoder = cbor2.CBORDecoder(f)
    while f.peek(1):
        try:
            item = decoder.decode()
        except cbor2.CBORDecodeError as e:
            raise RecordingError(f"{path}: not a CBOR sequence (or cut off): {e}") from None
        if not isinstance(item, dict):
            raise RecordingError(f"{path}: every item of a recording is a map")
        yield item


def new_header(
    rig: str,
    strategy: str,
    strategy_params: dict[str, Any],
    calibration: dict[str, Any] | None,
    rate_hz: float,
    source: str,
    user_id: str | None = None,
) -> RecordingHeader:
    return RecordingHeader(
        rig, strategy, dict(strategy_params), calibration, rate_hz, int(time.time() * 1000), source, user_id
    )


def read_header(path: Path) -> dict[str, Any] | None:
    """The first item of a recording (its header map), or None when it is not one."""
    try:
        with Path(path).open("rb") as f:
            item = cbor2.CBORDecoder(f).decode()
    except (OSError, cbor2.CBORDecodeError, ValueError, TypeError, OverflowError):
        return None
    return item if isinstance(item, dict) and item.get("format") == FORMAT else None
