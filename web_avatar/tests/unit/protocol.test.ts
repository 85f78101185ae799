// Decodes the server's golden CBOR fixtures (tests/golden/) and checks them against their
// tagged JSON, exactly as the Python and C# tests do.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { decodeCbor, encodeMessage } from "../../src/protocol/codec";
import { isPacked, unpackAvatarFrame } from "../../src/protocol/packed";

const GOLDEN = join(__dirname, "../../../tests/golden");
const names = readdirSync(GOLDEN).filter((f) => f.endsWith(".cbor")).map((f) => f.slice(0, -5));
// Quantisation of the packed format (docs/protocol.md).
const WEIGHT_TOL = 1 / 65535;
const QUAT_TOL = 2 / 32767;
const ANGLE_TOL_DEG = 0.005;

function fromTagged(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(fromTagged);
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    if ("$bytes" in o) return new Uint8Array(Buffer.from(o.$bytes as string, "base64"));
    if ("$intmap" in o) return fromTagged(o.$intmap);
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, fromTagged(x)]));
  }
  return v;
}

function normalise(v: unknown): unknown {
  if (v instanceof Uint8Array) return Array.from(v);
  if (Array.isArray(v)) return v.map(normalise);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [String(k), normalise(x)]));
  return v;
}

const fixture = (name: string) => decodeCbor(readFileSync(join(GOLDEN, `${name}.cbor`)));
const expected = (name: string) => fromTagged(JSON.parse(readFileSync(join(GOLDEN, `${name}.json`), "utf8")));

describe("golden fixtures", () => {
  it("has every message type", () => {
    expect(names).toContain("avatar_frame_packed");
    expect(names.length).toBeGreaterThanOrEqual(16);
  });
  for (const name of names) {
    it(`decodes ${name}`, () => {
      expect(normalise(fixture(name))).toEqual(normalise(expected(name)));
    });
  }
  it("unpacks the packed frame to the named one within the documented tolerances", () => {
    const welcome = fixture("welcome") as { payload: { channels: string[]; bones: string[] } };
    const packed = fixture("avatar_frame_packed");
    expect(isPacked(packed)).toBe(true);
    expect(isPacked(fixture("avatar_frame_named"))).toBe(false);
    const a = unpackAvatarFrame(packed, welcome.payload.channels, welcome.payload.bones);
    const b = fixture("avatar_frame_named") as { sequence: number; payload: Record<string, any> };
    expect(a.sequence).toBe(b.sequence);
    const pa = a.payload as Record<string, any>;
    for (const ch of welcome.payload.channels) expect(Math.abs(pa.blendshapes[ch] - b.payload.blendshapes[ch])).toBeLessThanOrEqual(WEIGHT_TOL);
    for (const bone of welcome.payload.bones)
      pa.bone_transforms[bone].forEach((v: number, i: number) =>
        expect(Math.abs(v - b.payload.bone_transforms[bone][i])).toBeLessThanOrEqual(QUAT_TOL));
    expect(Math.abs(pa.bone_transforms.head_yaw_deg - b.payload.bone_transforms.head_yaw_deg)).toBeLessThanOrEqual(ANGLE_TOL_DEG);
    expect(pa.face_present).toBe(b.payload.face_present);
    expect(pa.capture_ms).toBe(b.payload.capture_ms);
  });
});

describe("A/B frames", () => {
  it("carry their variant in both forms", () => {
    const welcome = fixture("welcome") as { payload: { channels: string[]; bones: string[] } };
    const packed = unpackAvatarFrame(fixture("avatar_frame_packed_variant_b"), welcome.payload.channels, welcome.payload.bones);
    expect((packed.payload as Record<string, unknown>).variant).toBe("B");
    expect((fixture("avatar_frame_named_variant_b") as any).payload.variant).toBe("B");
    const single = unpackAvatarFrame(fixture("avatar_frame_packed"), welcome.payload.channels, welcome.payload.bones);
    expect((single.payload as Record<string, unknown>).variant).toBeUndefined();
  });
});

describe("client encoding", () => {
  it("writes plain CBOR maps with byte strings the server accepts", () => {
    const bytes = encodeMessage("video_frame", { image: new Uint8Array([1, 2, 3]), capture_ms: 5 }, 7);
    const back = decodeCbor(bytes) as Record<string, any>;
    expect(back.type).toBe("video_frame");
    expect(Array.from(back.payload.image)).toEqual([1, 2, 3]);
    expect(bytes[0] >> 5).toBe(5); // major type 5: a map, no cbor-x record tag
    expect(typeof back.timestamp_ms === "bigint" || Number.isInteger(back.timestamp_ms)).toBe(true);
  });
});
