"""Renders the vocabulary and the wire constants for TypeScript and C#, so every client spells
names, keys and codes the way the server defines them.

Pure: returns source text. `avatar-driver vocabulary` writes
web_avatar/src/generated/{vocabulary,protocol}.ts and
unity_client/Runtime/Protocol/{Vocabulary,Protocol}.generated.cs; a test fails when those
files are stale.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum, IntEnum

from avatar_mapping import retarget as r
from avatar_mapping import vocabulary as v

from . import constants as c

VOCABULARY_HEADER = "Generated from avatar_mapping/vocabulary.py by `avatar-driver vocabulary`. Do not edit."
PROTOCOL_HEADER = "Generated from server/protocol/constants.py by `avatar-driver vocabulary`. Do not edit."
LISTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("ARKIT_BLENDSHAPES", "ArkitBlendshapes", v.ARKIT_BLENDSHAPES),
    ("ACTION_UNITS", "ActionUnits", v.ACTION_UNITS),
    ("VISEMES", "Visemes", v.VISEMES),
    ("EMOTIONS", "Emotions", v.EMOTIONS),
    ("EXPRESSION_PRESETS", "ExpressionPresets", v.EXPRESSION_PRESETS),
    ("BONES", "Bones", v.BONES),
    ("CANONICAL_CHANNELS", "CanonicalChannels", v.CANONICAL_CHANNELS),
)
# The wire constants, each with what a client reader needs to know of it.
ENUMS: tuple[tuple[type[Enum], str], ...] = (
    (c.MessageType, "Message types (the envelope's `type`)."),
    (c.PackedType, "Key 0 of a packed envelope: which message it is."),
    (c.PackedKey, "Integer keys of a packed envelope."),
    (c.PackedFrameKey, "Integer keys of a packed avatar_frame payload."),
    (c.Variant, "A/B variants; packed as their index."),
    (c.CloseCode, "WebSocket close codes."),
    (c.ErrorCode, "The `code` of an error message."),
    (c.SessionState, "A publisher session's life."),
    (c.WizardState, "The `state` of a calibration_step from the server."),
    (c.CalibrationStatus, "The `status` of a calibration_result."),
)
# Wire lists of names, in order.
PROTOCOL_LISTS: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    (
        "CALIBRATION_FACE_STEPS",
        "CalibrationFaceSteps",
        c.CALIBRATION_FACE_STEPS,
        "The calibration wizard's face steps, in the order it runs them.",
    ),
    (
        "CALIBRATION_VOICE_STEPS",
        "CalibrationVoiceSteps",
        c.CALIBRATION_VOICE_STEPS,
        "Its voice steps (with a microphone), run after the face steps.",
    ),
)


def pascal(name: str) -> str:
    """UNKNOWN_SESSION -> UnknownSession."""
    return "".join(part.capitalize() for part in name.split("_"))


def _literal(value: object) -> str:
    return str(int(value)) if isinstance(value, int) else f'"{value}"'


def _quoted(names: tuple[str, ...], indent: str) -> str:
    return ",\n".join(f'{indent}"{n}"' for n in names)


def render_typescript() -> str:
    parts = [f"// {VOCABULARY_HEADER}\n"]
    for const, type_name, names in LISTS:
        parts.append(
            f"export const {const} = [\n{_quoted(names, '  ')},\n] as const;\n"
            f"export type {type_name[:-1] if type_name.endswith('s') else type_name} = "
            f"(typeof {const})[number];\n"
        )
    return "\n".join(parts)


def render_typescript_protocol() -> str:
    parts = [
        f"// {PROTOCOL_HEADER}\n\nexport const PROTOCOL_VERSION = {c.PROTOCOL_VERSION};\n"
        f'/** hello.strategy when none is named. */\nexport const DEFAULT_STRATEGY = "{c.DEFAULT_STRATEGY}";\n'
    ]
    for enum, doc in ENUMS:
        rows = "".join(f"  {pascal(m.name)}: {_literal(m.value)},\n" for m in enum)
        parts.append(
            f"/** {doc} */\nexport const {enum.__name__} = {{\n{rows}}} as const;\n"
            f"export type {enum.__name__} = (typeof {enum.__name__})[keyof typeof {enum.__name__}];\n"
        )
    for const, _, names, doc in PROTOCOL_LISTS:
        parts.append(f"/** {doc} */\nexport const {const} = [\n{_quoted(names, '  ')},\n] as const;\n")
    return "\n".join(parts)


def render_csharp() -> str:
    body = []
    for _, type_name, names in LISTS:
        body.append(
            f"        public static readonly string[] {type_name} =\n        {{\n"
            f"{_quoted(names, '            ')},\n        }};\n"
        )
    return (
        f"// {VOCABULARY_HEADER}\n"
        "using System.Collections.Generic;\n\n"
        "namespace AvatarDriver.Protocol\n{\n"
        "    /// <summary>Channel, bone and class names shared with the server.</summary>\n"
        "    public static class Vocabulary\n    {\n" + "\n".join(body) + "    }\n\n" + _csharp_name_tables() + "}\n"
    )


def render_csharp_protocol() -> str:
    """Nested in `Wire` (Wire.CloseCode.Normal), so no name meets UnityEditor's (MessageType)."""
    classes = [
        f"        /// <summary>The protocol version this client speaks.</summary>\n"
        f"        public const int ProtocolVersion = {c.PROTOCOL_VERSION};\n"
        f"        /// <summary>hello.strategy when none is named.</summary>\n"
        f'        public const string DefaultStrategy = "{c.DEFAULT_STRATEGY}";\n'
    ]
    for enum, doc in ENUMS:
        kind = "int" if issubclass(enum, IntEnum) else "string"
        rows = "".join(f"            public const {kind} {pascal(m.name)} = {_literal(m.value)};\n" for m in enum)
        classes.append(
            f"        /// <summary>{doc}</summary>\n        public static class {enum.__name__}\n"
            f"        {{\n{rows}        }}\n"
        )
    for _, type_name, names, doc in PROTOCOL_LISTS:
        classes.append(
            f"        /// <summary>{doc}</summary>\n        public static readonly string[] {type_name} =\n"
            f"        {{\n{_quoted(names, '            ')},\n        }};\n"
        )
    return (
        f"// {PROTOCOL_HEADER}\nnamespace AvatarDriver.Protocol\n{{\n"
        "    /// <summary>Every wire constant of the protocol (docs/protocol.md).</summary>\n"
        "    public static class Wire\n    {\n" + "\n".join(classes) + "    }\n}\n"
    )


def _csharp_dict(name: str, d: Mapping[str, str | tuple[str, ...]], value: str = "string") -> str:
    def lit(x: str | tuple[str, ...]) -> str:
        return "new[] { " + ", ".join(f'"{i}"' for i in x) + " }" if isinstance(x, tuple) else f'"{x}"'

    rows = "".join(f'            {{ "{k}", {lit(x)} }},\n' for k, x in d.items())
    return (
        f"        public static readonly Dictionary<string, {value}> {name} = new Dictionary<string, {value}>\n"
        f"        {{\n{rows}        }};\n"
    )


def _csharp_strings(names: tuple[str, ...]) -> str:
    return "{ " + ", ".join(f'"{n}"' for n in names) + " }"


def _csharp_name_tables() -> str:
    """The server's morph-target and bone name matching tables (avatar_mapping/retarget.py)."""
    return (
        "    /// <summary>How avatar morph targets and bones are recognised"
        " (the server's rig inspector's tables).</summary>\n"
        "    public static class NameTables\n    {\n"
        f"        public static readonly string[] ArkitPrefixes = {_csharp_strings(r.ARKIT_PREFIXES)};\n"
        + _csharp_dict("VisemeAliases", r.VISEME_ALIASES)
        + _csharp_dict("ExpressionAliases", r.EXPRESSION_ALIASES)
        + _csharp_dict("BoneNames", r.BONE_NAMES, "string[]")
        + f"        public static readonly string[] BonePrefixes = {_csharp_strings(r.BONE_PREFIXES)};\n"
        "    }\n"
    )


def generated_files() -> dict[str, str]:
    """Every generated file, by its path from the repository root."""
    return {
        "web_avatar/src/generated/vocabulary.ts": render_typescript(),
        "web_avatar/src/generated/protocol.ts": render_typescript_protocol(),
        "unity_client/Runtime/Protocol/Vocabulary.generated.cs": render_csharp(),
        "unity_client/Runtime/Protocol/Protocol.generated.cs": render_csharp_protocol(),
    }
