// How far an avatar's eyes may turn, so that a gaze far up and to the side never rolls the iris
// out of sight (issue 25: VRoid looking up-right showed blank eye whites). Mirrors
// avatar_mapping/rig.py EyeLimits: from the VRM's lookAt ranges when it has them, else
// conservative defaults. Conventions as avatar_mapping/rotation.py: a gaze is Ry(yaw)·Rx(pitch)
// in the avatar's frame; yaw > 0 turns toward the avatar's own left (outward for its left eye),
// pitch > 0 looks down.
import type { Quat } from "./math";

export interface EyeLimits {
  /** Degrees toward the nose, toward the ear, up and down (all >= 0). */
  yawIn: number;
  yawOut: number;
  up: number;
  down: number;
  /** The largest eyeLook* morph weight while eye bones turn the eyes too (both move the iris). */
  lookWeightMax: number;
  source: "vrm0" | "vrm1" | "default";
}

export const DEFAULT_EYE_LIMITS: EyeLimits = { yawIn: 12, yawOut: 14, up: 10, down: 12, lookWeightMax: 0.5, source: "default" };

/** The four ranges of a VRM lookAt (three-vrm's rangeMap*.outputScale): degrees for a bone
 * lookAt, morph weights for an expression lookAt. A range that is not a number in 0..90 keeps
 * its default. */
export interface LookAtRanges {
  type: "bone" | "expression";
  horizontalInner?: number;
  horizontalOuter?: number;
  verticalDown?: number;
  verticalUp?: number;
}

const usable = (v: number | undefined): v is number => typeof v === "number" && Number.isFinite(v) && v >= 0 && v <= 90;

export function eyeLimitsFromLookAt(r: LookAtRanges, source: EyeLimits["source"] = "vrm1"): EyeLimits {
  const d = DEFAULT_EYE_LIMITS;
  const values = [r.horizontalInner, r.horizontalOuter, r.verticalDown, r.verticalUp];
  if (r.type === "expression") {
    const weights = values.filter(usable).map((v) => Math.min(v, 1));
    return { ...d, lookWeightMax: weights.length ? Math.min(...weights) : d.lookWeightMax, source };
  }
  const pick = (v: number | undefined, fallback: number) => (usable(v) ? v : fallback);
  return {
    ...d,
    yawIn: pick(r.horizontalInner, d.yawIn),
    yawOut: pick(r.horizontalOuter, d.yawOut),
    down: pick(r.verticalDown, d.down),
    up: pick(r.verticalUp, d.up),
    source,
  };
}

const DEG = Math.PI / 180;

/** (yaw, pitch) in degrees of the direction the rotation turns the forward (+Z) axis to. */
export function gazeAngles(q: Quat): { yaw: number; pitch: number } {
  const [x, y, z, w] = q;
  const dx = 2 * (x * z + w * y);
  const dy = 2 * (y * z - w * x);
  const dz = 1 - 2 * (x * x + y * y);
  return { yaw: Math.atan2(dx, dz) / DEG, pitch: -Math.asin(Math.max(-1, Math.min(1, dy))) / DEG };
}

/** Ry(yaw)·Rx(pitch) as (x, y, z, w), as avatar_mapping/rotation.py quat_from_euler with no roll. */
export function gazeQuat(yawDeg: number, pitchDeg: number): Quat {
  const cy = Math.cos((yawDeg * DEG) / 2), sy = Math.sin((yawDeg * DEG) / 2);
  const cp = Math.cos((pitchDeg * DEG) / 2), sp = Math.sin((pitchDeg * DEG) / 2);
  return [cy * sp, sy * cp, -sy * sp, cy * cp];
}

/** An eye bone's rotation within the limits (unchanged inside them; a clamped one has no roll). */
export function clampEyeRotation(eye: string, q: Quat, limits: EyeLimits): Quat {
  const { yaw, pitch } = gazeAngles(q);
  const [lo, hi] = eye === "left_eye" ? [-limits.yawIn, limits.yawOut] : [-limits.yawOut, limits.yawIn];
  const y = Math.min(Math.max(yaw, lo), hi);
  const p = Math.min(Math.max(pitch, -limits.up), limits.down);
  return y === yaw && p === pitch ? q : gazeQuat(y, p);
}

/** ARKit eyeLook* weights and VRM lookUp/Down/Left/Right expressions: morphs that move the iris. */
export const isLookChannel = (name: string) => /^eyeLook(Up|Down|In|Out)(Left|Right)$|^look(Up|Down|Left|Right)$/.test(name);
