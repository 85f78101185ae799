// The packed avatar_frame (docs/protocol.md): integer keys, uint16 weights, int16 xyz quaternions.
import { MessageType, PackedFrameKey as P, PackedKey as K, PackedType, Variant } from "../generated/protocol";
import { VISEMES } from "../generated/vocabulary";
import type { Envelope } from "./codec";

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

const VARIANTS = [Variant.A, Variant.B] as const;

function key(map: Record<string | number, unknown>, k: number): unknown {
  return map[k] ?? map[String(k)];
}

export function isPacked(value: unknown): boolean {
  return typeof value === "object" && value !== null && key(value as Record<string, unknown>, K.Type) === PackedType.AvatarFrame;
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The named form of a packed frame, given the channel and bone order from `welcome`. */
export function unpackAvatarFrame(value: unknown, channels: string[], bones: string[]): Envelope {
  const m = value as Record<string, unknown>;
  const p = key(m, K.Payload) as Record<string, unknown>;
  const w = view(key(p, P.Weights) as Uint8Array);
  const blendshapes: Record<string, number> = {};
  channels.forEach((name, i) => (blendshapes[name] = w.getUint16(2 * i, true) / 65535));
  const r = view(key(p, P.Rotations) as Uint8Array);
  const boneTransforms: Record<string, Quat | number> = {};
  bones.forEach((bone, i) => {
    const x = r.getInt16(6 * i, true) / 32767;
    const y = r.getInt16(6 * i + 2, true) / 32767;
    const z = r.getInt16(6 * i + 4, true) / 32767;
    boneTransforms[bone] = [x, y, z, Math.sqrt(Math.max(0, 1 - x * x - y * y - z * z))];
  });
  const h = view(key(p, P.Head) as Uint8Array);
  boneTransforms.head_yaw_deg = h.getInt16(0, true) / 100;
  boneTransforms.head_pitch_deg = h.getInt16(2, true) / 100;
  boneTransforms.head_roll_deg = h.getInt16(4, true) / 100;
  const visemes: Record<string, number> = {};
  const vw = key(p, P.Visemes) as Uint8Array | undefined;
  if (vw) VISEMES.forEach((v, i) => (visemes[v] = vw[i] / 255));
  const payload: AvatarFramePayload = {
    blendshapes,
    bone_transforms: boneTransforms,
    viseme: VISEMES[key(p, P.Viseme) as number],
    viseme_conf: (key(p, P.VisemeConf) as number) / 255,
    visemes,
    particles: {},
    face_present: Boolean(key(p, P.FacePresent)),
    capture_ms: (key(p, P.CaptureMs) as number | undefined) ?? null,
  };
  const variant = key(p, P.Variant) as number | undefined;
  if (variant !== undefined) payload.variant = VARIANTS[variant];
  return {
    type: MessageType.AvatarFrame,
    session_id: key(m, K.SessionId) as string,
    timestamp_ms: key(m, K.TimestampMs) as number,
    sequence: key(m, K.Sequence) as number,
    payload: payload as unknown as Record<string, unknown>,
  };
}
