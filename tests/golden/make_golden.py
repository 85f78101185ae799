"""`make golden`: writes the golden protocol fixtures (tests/support/golden.py builds them)
into this folder, each message as <name>.cbor and its tagged JSON as <name>.json."""

from __future__ import annotations

import json
from pathlib import Path

import cbor2

from tests.support.golden import messages, to_tagged

HERE = Path(__file__).parent


def main() -> None:
    for name, value in messages().items():
        (HERE / f"{name}.cbor").write_bytes(cbor2.dumps(value))
        (HERE / f"{name}.json").write_text(json.dumps(to_tagged(value), indent=1) + "\n")
        print(f"{name}: {len(cbor2.dumps(value))} bytes")


if __name__ == "__main__":
    main()
