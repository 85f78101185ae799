"""The TypeScript and C# vocabularies and wire constants are generated from Python and must be current."""

import re

from avatar_mapping.vocabulary import ARKIT_BLENDSHAPES, CANONICAL_CHANNELS, VISEMES
from server.protocol import constants as c
from server.protocol.codegen import (
    ENUMS,
    generated_files,
    pascal,
    render_csharp,
    render_csharp_protocol,
    render_typescript,
    render_typescript_protocol,
)
from tests.support.paths import REPO


def test_generated_files_are_current() -> None:
    for relative, text in generated_files().items():
        assert (REPO / relative).read_text() == text, f"{relative} is stale: run `avatar-driver vocabulary` and commit"


def test_generated_code_carries_every_name_in_order() -> None:
    ts, cs = render_typescript(), render_csharp()
    for names in (ARKIT_BLENDSHAPES, VISEMES, CANONICAL_CHANNELS):
        quoted = [f'"{n}"' for n in names]
        for text in (ts, cs):
            positions = [text.index(q, text.index(quoted[0])) for q in quoted]
            assert positions == sorted(positions)
    assert "export type Viseme = (typeof VISEMES)[number];" in ts
    assert "public static readonly string[] Visemes" in cs


def test_every_wire_constant_is_generated_with_its_value() -> None:
    ts, cs = render_typescript_protocol(), render_csharp_protocol()
    assert {e for e, _ in ENUMS} >= {
        c.MessageType,
        c.PackedKey,
        c.PackedFrameKey,
        c.PackedType,
        c.CloseCode,
        c.ErrorCode,
        c.SessionState,
        c.WizardState,
    }
    for enum, _ in ENUMS:
        for m in enum:
            value = str(int(m.value)) if isinstance(m.value, int) else f'"{m.value}"'
            assert f"  {pascal(m.name)}: {value}," in ts, (enum.__name__, m.name)
            kind = "int" if isinstance(m.value, int) else "string"
            assert f"public const {kind} {pascal(m.name)} = {value};" in cs, (enum.__name__, m.name)
    assert "Wire.CloseCode" not in cs and "public static class CloseCode" in cs
    assert re.search(r"UnknownSession = 4404", cs) and "UnknownSession: 4404" in ts


def test_clients_use_the_generated_constants_not_bare_numbers() -> None:
    """The packed decoders and the reconnect logic read keys and codes from the generated files."""
    packed_ts = (REPO / "web_avatar/src/protocol/packed.ts").read_text()
    client_ts = (REPO / "web_avatar/src/connection/client.ts").read_text()
    messages_cs = (REPO / "unity_client/Runtime/Protocol/Messages.cs").read_text()
    assert "PackedFrameKey as P" in packed_ts and not re.search(r"key\([mp], \d\)", packed_ts)
    assert "CloseCode." in client_ts and not re.search(r"code === \d{4}", client_ts)
    assert "Wire.PackedFrameKey." in messages_cs and not re.search(r"p\[\dL\]|TryGet\(\dL", messages_cs)
