"""The TypeScript and C# vocabularies are generated from Python and must be current."""

from avatar_mapping.codegen import render_csharp, render_typescript
from avatar_mapping.vocabulary import ARKIT_BLENDSHAPES, CANONICAL_CHANNELS, VISEMES
from tests.conftest import REPO


def test_generated_files_are_current():
    ts = (REPO / "web_avatar/src/generated/vocabulary.ts").read_text()
    cs = (REPO / "unity_client/Runtime/Protocol/Vocabulary.generated.cs").read_text()
    assert ts == render_typescript() and cs == render_csharp(), "run `avatar-driver vocabulary` and commit"


def test_generated_code_carries_every_name_in_order():
    ts, cs = render_typescript(), render_csharp()
    for names in (ARKIT_BLENDSHAPES, VISEMES, CANONICAL_CHANNELS):
        quoted = [f'"{n}"' for n in names]
        for text in (ts, cs):
            positions = [text.index(q, text.index(quoted[0])) for q in quoted]
            assert positions == sorted(positions)
    assert "export type Viseme = (typeof VISEMES)[number];" in ts
    assert "public static readonly string[] Visemes" in cs
