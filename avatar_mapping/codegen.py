"""Renders the vocabulary for TypeScript and C#, so every client spells names the same way.

Pure: returns source text. `avatar-driver vocabulary` writes it to
web_avatar/src/generated/vocabulary.ts and unity_client/Runtime/Protocol/Vocabulary.generated.cs;
a test fails when those files are stale.
"""

from __future__ import annotations

from . import retarget as r
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
            "using System.Collections.Generic;\n\n"
            "namespace AvatarDriver.Protocol\n{\n"
            "    /// <summary>Channel, bone and class names shared with the server.</summary>\n"
            "    public static class Vocabulary\n    {\n" + "\n".join(body) + "    }\n\n"
            + _csharp_name_tables() + "}\n")


def _csharp_dict(name: str, d: dict, value: str = "string") -> str:
    def lit(x):
        return "new[] { " + ", ".join(f'"{i}"' for i in x) + " }" if isinstance(x, tuple) else f'"{x}"'
    rows = "".join(f'            {{ "{k}", {lit(x)} }},\n' for k, x in d.items())
    return (f"        public static readonly Dictionary<string, {value}> {name} = new Dictionary<string, {value}>\n"
            f"        {{\n{rows}        }};\n")


def _csharp_strings(names: tuple[str, ...]) -> str:
    return "{ " + ", ".join(f'"{n}"' for n in names) + " }"


def _csharp_name_tables() -> str:
    """The server's morph-target and bone name matching tables (avatar_mapping/retarget.py)."""
    return ("    /// <summary>How avatar morph targets and bones are recognised (the server's rig inspector's tables).</summary>\n"
            "    public static class NameTables\n    {\n"
            f"        public static readonly string[] ArkitPrefixes = {_csharp_strings(r.ARKIT_PREFIXES)};\n"
            + _csharp_dict("VisemeAliases", r.VISEME_ALIASES)
            + _csharp_dict("ExpressionAliases", r.EXPRESSION_ALIASES)
            + _csharp_dict("BoneNames", r.BONE_NAMES, "string[]")
            + f"        public static readonly string[] BonePrefixes = {_csharp_strings(r.BONE_PREFIXES)};\n"
            "    }\n")
