"""The wire constants and docs/protocol.md, the source of truth, say the same."""

import re

from server.protocol.constants import CLIENT_TYPES, SERVER_TYPES, CloseCode, ErrorCode, MessageType, WizardState
from tests.support.paths import REPO

DOC = (REPO / "docs" / "protocol.md").read_text()


def table_after(heading: str) -> str:
    """The first markdown table after a heading line."""
    rest = DOC[DOC.index(heading) :]
    rows = re.search(r"(\n\|.*\|)+", rest)
    assert rows is not None, f"no table after {heading!r}"
    return rows.group(0)


def test_every_error_code_is_documented_and_every_documented_code_exists() -> None:
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", table_after("| code | cause |"), re.M))
    assert documented == {str(c) for c in ErrorCode}


def test_every_close_code_is_documented_and_every_documented_code_exists() -> None:
    documented = {int(c) for c in re.findall(r"^\| (\d{4}) \|", table_after("## Close codes"), re.M)}
    assert documented == {int(c) for c in CloseCode}


def test_every_message_type_has_its_section() -> None:
    client = DOC[DOC.index("## Client → server") : DOC.index("## Server → client")]
    server = DOC[DOC.index("## Server → client") :]
    assert all(f"### `{t}`" in client for t in CLIENT_TYPES)
    assert all(f"### `{t}`" in server for t in SERVER_TYPES)
    assert set(CLIENT_TYPES) | set(SERVER_TYPES) == set(MessageType)


def test_wizard_states_are_documented() -> None:
    row = next(line for line in table_after("### `calibration_step` (server)").splitlines() if "`state`" in line)
    assert set(re.findall(r"`([a-z]+)`", row)) - {"state"} == {str(s) for s in WizardState}
