"""The habits the repository keeps are the same everywhere they run: the pre-commit hooks run
what `make check` runs."""

from __future__ import annotations

import ast
import re

from tests.support.paths import REPO

# What `make lint` and `make check` run, and how each appears in .pre-commit-config.yaml.
CHECKS = {
    "ruff check": ".venv/bin/ruff check",
    "ruff format --check": ".venv/bin/ruff format --check",
    "lint-imports": ".venv/bin/lint-imports",
    "mypy": ".venv/bin/mypy",
    "typecheck": "make -C web_avatar typecheck",
}


def recipe(target: str) -> str:
    """The commands of a Makefile target."""
    makefile = (REPO / "Makefile").read_text()
    match = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert match, f"no target {target} in the Makefile"
    return match.group(1)


def test_pre_commit_runs_what_make_check_runs() -> None:
    make = recipe("lint") + recipe("check")
    hooks = (REPO / ".pre-commit-config.yaml").read_text()
    for check, hook in CHECKS.items():
        assert check in make, f"make check no longer runs {check}: update this test and the hooks"
        assert hook in hooks, f"{check} runs in make check but not in .pre-commit-config.yaml"


def test_make_test_runs_the_checks_first() -> None:
    assert recipe("test").splitlines()[0].strip() == "$(MAKE) check"


def test_live_modules_stay_small() -> None:
    """A module of server/live/ is one concept: past 250 lines it holds two."""
    long = {p.name: n for p in (REPO / "server" / "live").glob("*.py") if (n := len(p.read_text().splitlines())) > 250}
    assert not long, f"split these: {long}"


def test_create_app_is_wiring_only() -> None:
    source = (REPO / "server" / "app.py").read_text()
    tree = ast.parse(source)
    create_app = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "create_app")
    assert create_app.end_lineno is not None
    assert create_app.end_lineno - create_app.lineno + 1 <= 80
