// Timestamp-ordered jitter buffer: frames arrive at 10-60 Hz with network jitter; the
// render loop samples it at display rate, interpolating between the two frames around
// the playout time (weights linearly, bones by SLERP).
import { slerp, type Quat } from "./math";

export interface PoseFrame {
  timestampMs: number; // server clock
  sequence: number;
  weights: Record<string, number>;
  bones: Record<string, Quat>;
  visemes: Record<string, number>;
  facePresent: boolean;
  captureMs: number | null;
}

export interface JitterBufferOptions {
  /** Playout delay behind the newest frame, in ms: absorbs network jitter. */
  delayMs: number;
  /** Frames kept at most. */
  capacity: number;
}

export class JitterBuffer {
  private frames: PoseFrame[] = [];
  private clockOffsetMs: number | null = null; // local - server, minimum seen (least delayed frame)
  dropped = 0;

  constructor(readonly options: JitterBufferOptions = { delayMs: 60, capacity: 64 }) {}

  get size(): number {
    return this.frames.length;
  }

  /** Forget everything: a new session has its own clock and sequence numbers. */
  reset(): void {
    this.frames = [];
    this.clockOffsetMs = null;
  }

  /** Insert by server timestamp; late duplicates and frames older than what was played are dropped. */
  push(frame: PoseFrame, receivedLocalMs: number): void {
    const offset = receivedLocalMs - frame.timestampMs;
    this.clockOffsetMs = this.clockOffsetMs === null ? offset : Math.min(this.clockOffsetMs, offset);
    if (this.frames.some((f) => f.sequence === frame.sequence)) return;
    let i = this.frames.length;
    while (i > 0 && this.frames[i - 1].timestampMs > frame.timestampMs) i--;
    this.frames.splice(i, 0, frame);
    while (this.frames.length > this.options.capacity) {
      this.frames.shift();
      this.dropped++;
    }
  }

  /** How far local time `nowMs` plays out past the newest frame (ms): how stale the stream is. */
  behindMs(nowMs: number): number {
    if (this.frames.length === 0 || this.clockOffsetMs === null) return Infinity;
    return nowMs - this.clockOffsetMs - this.options.delayMs - this.frames[this.frames.length - 1].timestampMs;
  }

  /** The pose at local time `nowMs`, interpolated; null before the first frame. */
  sample(nowMs: number): PoseFrame | null {
    if (this.frames.length === 0 || this.clockOffsetMs === null) return null;
    const playout = nowMs - this.clockOffsetMs - this.options.delayMs;
    // Keep one frame before the playout time for interpolation; older ones are done.
    while (this.frames.length > 2 && this.frames[1].timestampMs <= playout) this.frames.shift();
    const [a, b] = this.frames;
    if (!b || playout <= a.timestampMs) return a;
    if (playout >= b.timestampMs) return b;
    const t = (playout - a.timestampMs) / (b.timestampMs - a.timestampMs);
    return interpolate(a, b, t);
  }
}

export function interpolate(a: PoseFrame, b: PoseFrame, t: number): PoseFrame {
  const weights: Record<string, number> = {};
  for (const k of Object.keys(b.weights)) weights[k] = (a.weights[k] ?? 0) * (1 - t) + b.weights[k] * t;
  const bones: Record<string, Quat> = {};
  for (const k of Object.keys(b.bones)) bones[k] = a.bones[k] ? slerp(a.bones[k], b.bones[k], t) : b.bones[k];
  const visemes: Record<string, number> = {};
  for (const k of Object.keys(b.visemes)) visemes[k] = (a.visemes[k] ?? 0) * (1 - t) + b.visemes[k] * t;
  return {
    timestampMs: a.timestampMs + (b.timestampMs - a.timestampMs) * t,
    sequence: t < 0.5 ? a.sequence : b.sequence,
    weights,
    bones,
    visemes,
    facePresent: t < 0.5 ? a.facePresent : b.facePresent,
    captureMs: t < 0.5 ? a.captureMs : b.captureMs,
  };
}

/** A PoseFrame from a named avatar_frame payload. */
export function poseFromPayload(timestampMs: number, sequence: number, p: Record<string, unknown>): PoseFrame {
  const bones: Record<string, Quat> = {};
  for (const [k, v] of Object.entries(p.bone_transforms as Record<string, unknown>)) {
    if (Array.isArray(v)) bones[k] = v as Quat;
  }
  return {
    timestampMs,
    sequence,
    weights: p.blendshapes as Record<string, number>,
    bones,
    visemes: (p.visemes as Record<string, number>) ?? {},
    facePresent: Boolean(p.face_present),
    captureMs: (p.capture_ms as number | null) ?? null,
  };
}
