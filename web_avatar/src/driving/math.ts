// Small quaternion and smoothing helpers, frame-rate independent.
export type Quat = [number, number, number, number];

export function slerp(a: Quat, b: Quat, t: number): Quat {
  let [bx, by, bz, bw] = b;
  let dot = a[0] * bx + a[1] * by + a[2] * bz + a[3] * bw;
  if (dot < 0) {
    [bx, by, bz, bw] = [-bx, -by, -bz, -bw];
    dot = -dot;
  }
  if (dot > 0.9995) {
    const q: Quat = [a[0] + t * (bx - a[0]), a[1] + t * (by - a[1]), a[2] + t * (bz - a[2]), a[3] + t * (bw - a[3])];
    const n = Math.hypot(...q);
    return [q[0] / n, q[1] / n, q[2] / n, q[3] / n];
  }
  const theta = Math.acos(dot);
  const s = Math.sin(theta);
  const wa = Math.sin((1 - t) * theta) / s;
  const wb = Math.sin(t * theta) / s;
  return [wa * a[0] + wb * bx, wa * a[1] + wb * by, wa * a[2] + wb * bz, wa * a[3] + wb * bw];
}

/** Exponential approach with time constant tau: the same curve at any frame rate. */
export function smoothToward(current: number, target: number, dtS: number, tauS: number): number {
  if (tauS <= 0) return target;
  return current + (target - current) * (1 - Math.exp(-dtS / tauS));
}

/** SLERP with the same frame-rate independent factor. */
export function smoothQuat(current: Quat, target: Quat, dtS: number, tauS: number): Quat {
  return tauS <= 0 ? target : slerp(current, target, 1 - Math.exp(-dtS / tauS));
}
