// The packed avatar_frame (docs/protocol.md): integer keys, uint16 weights, int16 xyz quaternions.
import { VISEMES } from "../generated/vocabulary";
import type { Envelope } from "./codec";

export const PACKED_AVATAR_FRAME = 1;

type Quat = [number, number, number, number];

export interface AvatarFramePayload {
  blendshapes: Record<string, number>;
  bone_transforms: Record<string, Quat | number>;
  viseme: string;
  viseme_conf: number;
  visemes: Record<string, number>;
  particles: Record<string, number>;
  face_present: boolean;
  capture_ms: number | null;
  variant?: "A" | "B";
}

const VARIANTS = ["A", "B"] as const;

function key(map: Record<string | number, unknown>, k: number): unknown {
  return map[k] ?? map[String(k)];
}

export function isPacked(value: unknown): boolean {
  return typeof value === "object" && value !== null && key(value as Record<string, unknown>, 0) === PACKED_AVATAR_FRAME;
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The named form of a packed frame, given the channel and bone order from `welcome`. */
export function unpackAvatarFrame(value: unknown, channels: string[], bones: string[]): Envelope {
  const m = value as Record<string, unknown>;
  const p = key(m, 4) as Record<string, unknown>;
  const w = view(key(p, 0) as Uint8Array);
  const blendshapes: Record<string, number> = {};
  channels.forEach((name, i) => (blendshapes[name] = w.getUint16(2 * i, true) / 65535));
  const r = view(key(p, 1) as Uint8Array);
  const boneTransforms: Record<string, Quat | number> = {};
  bones.forEach((bone, i) => {
    const x = r.getInt16(6 * i, true) / 32767;
    const y = r.getInt16(6 * i + 2, true) / 32767;
    const z = r.getInt16(6 * i + 4, true) / 32767;
    boneTransforms[bone] = [x, y, z, Math.sqrt(Math.max(0, 1 - x * x - y * y - z * z))];
  });
  const h = view(key(p, 2) as Uint8Array);
  boneTransforms.head_yaw_deg = h.getInt16(0, true) / 100;
  boneTransforms.head_pitch_deg = h.getInt16(2, true) / 100;
  boneTransforms.head_roll_deg = h.getInt16(4, true) / 100;
  const visemes: Record<string, number> = {};
  const vw = key(p, 7) as Uint8Array | undefined;
  if (vw) VISEMES.forEach((v, i) => (visemes[v] = vw[i] / 255));
  const payload: AvatarFramePayload = {
    blendshapes,
    bone_transforms: boneTransforms,
    viseme: VISEMES[key(p, 3) as number],
    viseme_conf: (key(p, 4) as number) / 255,
    visemes,
    particles: {},
    face_present: Boolean(key(p, 5)),
    capture_ms: (key(p, 6) as number | undefined) ?? null,
  };
  const variant = key(p, 8) as number | undefined;
  if (variant !== undefined) payload.variant = VARIANTS[variant];
  return {
    type: "avatar_frame",
    session_id: key(m, 1) as string,
    timestamp_ms: key(m, 2) as number,
    sequence: key(m, 3) as number,
    payload: payload as unknown as Record<string, unknown>,
  };
}
