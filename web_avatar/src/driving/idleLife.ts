// Idle life: what keeps an avatar alive while no face drives it (tracking lost, a stream that
// stopped, a watcher waiting for its publisher): breathing, blinks at human intervals and small
// gaze saccades. Pure and dt-based with its own seeded random numbers, so the same seed and the
// same steps give the same motion, and a test can run it frame by frame. Off in A/B, where
// random motion on one side would sway the vote.
import type { Quat } from "./math";

export interface IdleOptions {
  /** Seconds between blinks, drawn uniformly in this range (people blink every 2-6 s at rest). */
  blinkEveryS: [number, number];
  /** A blink's length: closing takes a third of it, opening the rest. */
  blinkS: number;
  /** Seconds between gaze shifts, and their largest angle (degrees, yaw and pitch). */
  saccadeEveryS: [number, number];
  saccadeDeg: number;
  /** A breath's period (s) and how far it tips the chest and head (degrees). */
  breathS: number;
  breathDeg: number;
}

export const DEFAULT_IDLE: IdleOptions = {
  blinkEveryS: [2.0, 6.0], blinkS: 0.18, saccadeEveryS: [0.8, 3.0], saccadeDeg: 6, breathS: 4.2, breathDeg: 0.8,
};

export interface IdlePose {
  weights: Record<string, number>;
  bones: Record<string, Quat>;
}

/** Eye look channels for a gaze of (yaw, pitch) degrees; 25° is a full look (the server's scale). */
function eyeLook(yawDeg: number, pitchDeg: number): Record<string, number> {
  const side = Math.min(Math.abs(yawDeg) / 25, 1);
  const vertical = Math.min(Math.abs(pitchDeg) / 25, 1);
  const left = yawDeg > 0; // toward the avatar's own left
  const down = pitchDeg > 0;
  return {
    eyeLookOutLeft: left ? side : 0, eyeLookInRight: left ? side : 0,
    eyeLookInLeft: left ? 0 : side, eyeLookOutRight: left ? 0 : side,
    eyeLookDownLeft: down ? vertical : 0, eyeLookDownRight: down ? vertical : 0,
    eyeLookUpLeft: down ? 0 : vertical, eyeLookUpRight: down ? 0 : vertical,
  };
}

/** Rotation about +Y (yaw) then +X (pitch), degrees, as [x, y, z, w]. */
function yawPitch(yawDeg: number, pitchDeg: number): Quat {
  const y = (yawDeg * Math.PI) / 360;
  const x = (pitchDeg * Math.PI) / 360;
  return [Math.cos(y) * Math.sin(x), Math.sin(y) * Math.cos(x), -Math.sin(y) * Math.sin(x), Math.cos(y) * Math.cos(x)];
}

export class IdleLife {
  private t = 0;
  private nextBlinkS: number;
  private blinkStartS = -1;
  private nextSaccadeS: number;
  private gaze: [number, number] = [0, 0];
  private state: number;

  constructor(seed = 1, readonly options: IdleOptions = DEFAULT_IDLE) {
    this.state = seed >>> 0 || 1;
    this.nextBlinkS = this.between(options.blinkEveryS);
    this.nextSaccadeS = this.between(options.saccadeEveryS);
  }

  /** The idle pose after ``dtS`` more seconds. */
  step(dtS: number): IdlePose {
    const o = this.options;
    this.t += Math.max(0, dtS);
    if (this.t >= this.nextBlinkS) {
      this.blinkStartS = this.nextBlinkS;
      this.nextBlinkS += this.between(o.blinkEveryS);
    }
    if (this.t >= this.nextSaccadeS) {
      // Mostly small shifts around straight ahead, now and then back to centre.
      this.gaze = this.random() < 0.3 ? [0, 0] : [this.spread(o.saccadeDeg), this.spread(o.saccadeDeg / 2)];
      this.nextSaccadeS += this.between(o.saccadeEveryS);
    }
    const blink = this.blinkAt(this.t - this.blinkStartS);
    const breath = Math.sin((2 * Math.PI * this.t) / o.breathS);
    return {
      weights: { eyeBlinkLeft: blink, eyeBlinkRight: blink, ...eyeLook(this.gaze[0], this.gaze[1]) },
      bones: {
        chest: yawPitch(0, -o.breathDeg * breath), // breathing in lifts the chest ...
        head: yawPitch(0, 0.5 * o.breathDeg * breath), // ... and the head keeps its gaze level
        left_eye: yawPitch(this.gaze[0], this.gaze[1]),
        right_eye: yawPitch(this.gaze[0], this.gaze[1]),
      },
    };
  }

  /** The lids over a blink: closing in the first third, opening in the rest; 0 outside. */
  private blinkAt(sinceS: number): number {
    const length = this.options.blinkS;
    if (this.blinkStartS < 0 || sinceS < 0 || sinceS > length) return 0;
    const closing = length / 3;
    return sinceS < closing ? sinceS / closing : 1 - (sinceS - closing) / (length - closing);
  }

  private between([low, high]: [number, number]): number {
    return low + (high - low) * this.random();
  }

  private spread(deg: number): number {
    return (2 * this.random() - 1) * deg;
  }

  /** mulberry32: small, fast, and the same sequence on every machine. */
  private random(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let r = this.state;
    r = Math.imul(r ^ (r >>> 15), r | 1);
    r ^= r + Math.imul(r ^ (r >>> 7), r | 61);
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  }
}

/** A pose without a face (voice only, tracking lost) with idle life where the pose is still:
 * every idle channel at least its idle value, every idle bone where the pose's is at rest. */
export function withIdle<P extends IdlePose>(pose: P, idle: IdlePose): P {
  const weights = { ...pose.weights };
  for (const [name, w] of Object.entries(idle.weights)) weights[name] = Math.max(weights[name] ?? 0, w);
  const bones = { ...pose.bones };
  for (const [name, q] of Object.entries(idle.bones)) {
    const current = bones[name];
    if (!current || Math.abs(current[3]) > 0.99999) bones[name] = q;
  }
  return { ...pose, weights, bones };
}
