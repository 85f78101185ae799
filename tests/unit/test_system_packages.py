"""Every system path the code reads is owned by a Debian package that `.ci/run` installs:
a test that passes only where someone installed a package by hand fails here instead
(pocketsphinx-testdata was such a package)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.paths import REPO

CI_SCRIPT = REPO / ".ci" / "run"
SYSTEM_PATH = re.compile(r"/usr/share/[A-Za-z0-9_.+-]+(?:/[A-Za-z0-9_.+-]+)*")
# Files that only name paths (the list itself, the lock file's download addresses).
NOT_READERS = {".ci/run", "web_avatar/package-lock.json"}


def package_lines() -> list[str]:
    """The lines of the package list in .ci/run (between `<<'PACKAGES'` and `PACKAGES`)."""
    script = CI_SCRIPT.read_text()
    start = script.index("<<'PACKAGES'\n") + len("<<'PACKAGES'\n")
    return script[start : script.index("\nPACKAGES\n", start)].splitlines()


def declared() -> dict[str, str]:
    """The paths .ci/run's package list declares, and the package each belongs to."""
    paths: dict[str, str] = {}
    for line in package_lines():
        fields = line.split("#", 1)[0].split()
        for path in fields[1:]:
            paths[path] = fields[0]
    return paths


def named_paths() -> dict[str, list[str]]:
    """Every /usr/share path named in a tracked file, and where."""
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    found: dict[str, list[str]] = {}
    for name in tracked:
        if name in NOT_READERS:
            continue
        try:
            text = (REPO / name).read_text()
        except (UnicodeDecodeError, OSError):
            continue  # binary files
        for path in set(SYSTEM_PATH.findall(text)):
            found.setdefault(path, []).append(name)
    return found


def test_every_path_under_usr_share_is_owned_by_a_package_ci_installs() -> None:
    owners = declared()
    unowned = {path: where for path, where in named_paths().items() if not any(path.startswith(p) for p in owners)}
    assert not unowned, (
        "paths under /usr/share that no package of .ci/run's list provides "
        f"(add 'package  path' to it; .ci/run installs it): {unowned}"
    )


def test_the_ci_script_installs_the_listed_packages() -> None:
    packages = [line.split()[0] for line in package_lines() if line.split("#", 1)[0].strip()]
    assert {"chromium", "espeak-ng", "mono-devel", "pocketsphinx-testdata"} <= set(packages)
    script = CI_SCRIPT.read_text()
    assert "SYSTEM_PACKAGES" in script and "apt-get install" in script


@pytest.mark.skipif(shutil.which("dpkg-query") is None, reason="not a Debian system: ownership cannot be read")
def test_each_declared_path_belongs_to_its_package_where_it_is_installed() -> None:
    wrong = {}
    for path, package in declared().items():
        if not Path(path).exists():
            continue  # not installed here: .ci/run installs it before the tests
        owner = subprocess.run(["dpkg-query", "-S", path], capture_output=True, text=True)
        packages = {line.split(":", 1)[0] for line in owner.stdout.splitlines()}
        if owner.returncode == 0 and package not in packages:
            wrong[path] = (package, sorted(packages))
    assert not wrong, f"declared owner differs from dpkg's (declared, dpkg): {wrong}"
