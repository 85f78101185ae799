import { describe, expect, it } from "vitest";
import { DEFAULT_IDLE, IdleLife, withIdle } from "../../src/driving/idleLife";
import type { Quat } from "../../src/driving/math";

/** Runs the idle life for ``seconds`` at ``fps``; every step's pose. */
function run(life: IdleLife, seconds: number, fps = 60) {
  return Array.from({ length: Math.round(seconds * fps) }, () => life.step(1 / fps));
}

describe("idle life", () => {
  it("blinks at human intervals, each blink closing the eyes fully and briefly", () => {
    const poses = run(new IdleLife(7), 60);
    const closed = poses.map((p) => p.weights.eyeBlinkLeft > 0.5);
    const blinks = closed.filter((c, i) => c && !closed[i - 1]).length;
    expect(blinks).toBeGreaterThanOrEqual(60 / DEFAULT_IDLE.blinkEveryS[1]);
    expect(blinks).toBeLessThanOrEqual(60 / DEFAULT_IDLE.blinkEveryS[0] + 1);
    expect(Math.max(...poses.map((p) => p.weights.eyeBlinkLeft))).toBeGreaterThan(0.9);
    expect(closed.filter(Boolean).length / 60).toBeLessThan(blinks * DEFAULT_IDLE.blinkS); // seconds closed
    expect(poses.every((p) => p.weights.eyeBlinkLeft === p.weights.eyeBlinkRight)).toBe(true);
  });

  it("looks around a little and breathes, and is the same at any frame rate", () => {
    const at30 = run(new IdleLife(3), 20, 30);
    const at120 = run(new IdleLife(3), 20, 120);
    const looks = new Set(at30.map((p) => p.weights.eyeLookOutLeft.toFixed(3) + p.weights.eyeLookInLeft.toFixed(3)));
    expect(looks.size).toBeGreaterThan(3);
    for (const p of at30) {
      for (const [name, w] of Object.entries(p.weights)) {
        if (name.startsWith("eyeLook")) expect(w).toBeLessThanOrEqual(DEFAULT_IDLE.saccadeDeg / 25 + 1e-9);
      }
    }
    const chest = at30.map((p) => p.bones.chest[0]);
    expect(Math.max(...chest)).toBeGreaterThan(0);
    expect(Math.min(...chest)).toBeLessThan(0);
    // The last pose of 20 s is the same whether it took 600 or 2400 steps (blinks and saccades
    // happen at times drawn from the seed, not per frame).
    expect(at120[at120.length - 1].bones.chest[0]).toBeCloseTo(at30[at30.length - 1].bones.chest[0], 6);
    expect(at120[at120.length - 1].weights.eyeLookOutLeft).toBeCloseTo(at30[at30.length - 1].weights.eyeLookOutLeft, 9);
  });

  it("fills in only where a face-less pose is still", () => {
    const idle = { weights: { eyeBlinkLeft: 1, jawOpen: 0.2 }, bones: { head: [0.1, 0, 0, 0.995] as Quat, chest: [0.01, 0, 0, 0.99995] as Quat } };
    const pose = { weights: { jawOpen: 0.6, eyeBlinkLeft: 0 }, bones: { head: [0, 0.2, 0, 0.98] as Quat, chest: [0, 0, 0, 1] as Quat } };
    const merged = withIdle(pose, idle);
    expect(merged.weights).toEqual({ jawOpen: 0.6, eyeBlinkLeft: 1 });
    expect(merged.bones.head).toEqual([0, 0.2, 0, 0.98]); // the voice (or server) moved it: kept
    expect(merged.bones.chest).toEqual([0.01, 0, 0, 0.99995]);
  });
});
