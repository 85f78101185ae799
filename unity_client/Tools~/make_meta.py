"""Writes Unity .meta files for every asset and folder of the package (Unity needs them in
immutable git packages). GUIDs derive from the path, so re-running changes nothing.

Usage: python unity_client/Tools~/make_meta.py [--check]
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TAIL = "  userData: \n  assetBundleName: \n  assetBundleVariant: \n"
IMPORTERS = {
    ".cs": "MonoImporter:\n  externalObjects: {}\n  serializedVersion: 2\n  defaultReferences: []\n  executionOrder: 0\n"
           "  icon: {instanceID: 0}\n" + TAIL,
    ".asmdef": "AssemblyDefinitionImporter:\n  externalObjects: {}\n" + TAIL,
    ".json": "PackageManifestImporter:\n  externalObjects: {}\n" + TAIL,
    ".md": "TextScriptImporter:\n  externalObjects: {}\n" + TAIL,
}


def hidden(p: Path) -> bool:
    """Unity ignores names ending in ~ or starting with a dot, and so do we."""
    return any(part.endswith("~") or part.startswith(".") for part in p.relative_to(ROOT).parts)


def meta_for(p: Path) -> str:
    guid = hashlib.md5(("com.avatar-driver.client/" + p.relative_to(ROOT).as_posix()).encode()).hexdigest()
    if p.is_dir():
        return f"fileFormatVersion: 2\nguid: {guid}\nfolderAsset: yes\nDefaultImporter:\n  externalObjects: {{}}\n" + TAIL
    return f"fileFormatVersion: 2\nguid: {guid}\n" + IMPORTERS.get(p.suffix, "DefaultImporter:\n  externalObjects: {}\n" + TAIL)


def main() -> int:
    check = "--check" in sys.argv
    stale = []
    for p in sorted(ROOT.rglob("*")):
        if p.suffix == ".meta" or hidden(p):
            continue
        meta = p.with_name(p.name + ".meta")
        want = meta_for(p)
        if not meta.is_file() or meta.read_text() != want:
            stale.append(meta)
            if not check:
                meta.write_text(want)
    orphans = [m for m in ROOT.rglob("*.meta") if not hidden(m) and not m.with_name(m.name[:-5]).exists()]
    for m in orphans:
        stale.append(m)
        if not check:
            m.unlink()
    if check and stale:
        print("stale .meta files (run python unity_client/Tools~/make_meta.py):", *stale, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
