"""Renders the vocabulary for TypeScript and C#, so every client spells names the same way.

Pure: returns source text. `avatar-driver vocabulary` writes it to
web_avatar/src/generated/vocabulary.ts and unity_client/Runtime/Generated/Vocabulary.cs;
a test fails when those files are stale.
"""

from __future__ import annotations

from . import vocabulary as v

HEADER = "Generated from avatar_mapping/vocabulary.py by `avatar-driver vocabulary`. Do not edit."
LISTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("ARKIT_BLENDSHAPES", "ArkitBlendshapes", v.ARKIT_BLENDSHAPES),
    ("ACTION_UNITS", "ActionUnits", v.ACTION_UNITS),
    ("VISEMES", "Visemes", v.VISEMES),
    ("EMOTIONS", "Emotions", v.EMOTIONS),
    ("EXPRESSION_PRESETS", "ExpressionPresets", v.EXPRESSION_PRESETS),
    ("BONES", "Bones", v.BONES),
    ("CANONICAL_CHANNELS", "CanonicalChannels", v.CANONICAL_CHANNELS),
)


def _quoted(names: tuple[str, ...], indent: str) -> str:
    return ",\n".join(f'{indent}"{n}"' for n in names)


def render_typescript() -> str:
    parts = [f"// {HEADER}\n"]
    for const, type_name, names in LISTS:
        parts.append(f"export const {const} = [\n{_quoted(names, '  ')},\n] as const;\n"
                     f"export type {type_name[:-1] if type_name.endswith('s') else type_name} = "
                     f"(typeof {const})[number];\n")
    return "\n".join(parts)


def render_csharp() -> str:
    body = []
    for _, type_name, names in LISTS:
        body.append(f"        public static readonly string[] {type_name} =\n        {{\n"
                    f"{_quoted(names, '            ')},\n        }};\n")
    return (f"// {HEADER}\n"
            "namespace AvatarDriver.Protocol\n{\n"
            "    /// <summary>Channel, bone and class names shared with the server.</summary>\n"
            "    public static class Vocabulary\n    {\n" + "\n".join(body) + "    }\n}\n")
