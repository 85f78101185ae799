import { describe, expect, it } from "vitest";
import { JitterBuffer, type PoseFrame } from "../../src/driving/jitterBuffer";
import { slerp, smoothQuat, smoothToward, type Quat } from "../../src/driving/math";

const yaw = (deg: number): Quat => [0, Math.sin((deg * Math.PI) / 360), 0, Math.cos((deg * Math.PI) / 360)];

function frame(seq: number, t: number, smile: number, yawDeg = 0): PoseFrame {
  return { timestampMs: t, sequence: seq, weights: { smile }, bones: { head: yaw(yawDeg) }, visemes: {}, facePresent: true, captureMs: t - 30 };
}

describe("jitter buffer", () => {
  it("interpolates between frames at the playout time", () => {
    const jb = new JitterBuffer({ delayMs: 50, capacity: 16 });
    jb.push(frame(0, 1000, 0, 0), 5000);
    jb.push(frame(1, 1100, 1, 20), 5100);
    // local 5100 -> server 1100, minus 50 ms delay = 1050: halfway
    const s = jb.sample(5100)!;
    expect(s.weights.smile).toBeCloseTo(0.5, 6);
    expect((2 * Math.asin(s.bones.head[1]) * 180) / Math.PI).toBeCloseTo(10, 4);
  });

  it("orders frames that arrive out of order and ignores duplicates", () => {
    const jb = new JitterBuffer({ delayMs: 0, capacity: 16 });
    jb.push(frame(0, 1000, 0), 5000);
    jb.push(frame(2, 1200, 1), 5210);
    jb.push(frame(1, 1100, 0.5), 5230); // late
    jb.push(frame(1, 1100, 0.5), 5231); // duplicate
    expect(jb.size).toBe(3);
    expect(jb.sample(5150)!.weights.smile).toBeCloseTo(0.75, 6);
  });

  it("holds the newest frame when frames stop, and nothing before the first", () => {
    const jb = new JitterBuffer({ delayMs: 0, capacity: 16 });
    expect(jb.sample(0)).toBeNull();
    jb.push(frame(0, 1000, 0.3), 5000);
    jb.push(frame(1, 1033, 0.6), 5033);
    expect(jb.sample(9000)!.weights.smile).toBe(0.6);
  });

  it("says how stale the stream is, so the view can ease to rest when frames stop", () => {
    const jb = new JitterBuffer({ delayMs: 50, capacity: 16 });
    expect(jb.behindMs(5000)).toBe(Infinity);
    jb.push(frame(0, 1000, 0.3), 5000);
    // local 5050 -> server 1050, minus 50 ms delay = 1000: exactly at the newest frame
    expect(jb.behindMs(5050)).toBe(0);
    expect(jb.behindMs(5650)).toBe(600);
    jb.reset();
    expect(jb.behindMs(5650)).toBe(Infinity);
  });

  it("absorbs network jitter: a steady stream plays smoothly at display rate", () => {
    const jb = new JitterBuffer({ delayMs: 60, capacity: 64 });
    const rand = (() => { let s = 1; return () => ((s = (s * 16807) % 2147483647) / 2147483647); })();
    for (let i = 0; i < 60; i++) jb.push(frame(i, 1000 + i * 33.3, i / 60), 5000 + i * 33.3 + rand() * 40);
    const values: number[] = [];
    for (let t = 5300; t < 6800; t += 16.7) values.push(jb.sample(t)!.weights.smile);
    const steps = values.slice(1).map((v, i) => v - values[i]);
    expect(Math.min(...steps)).toBeGreaterThanOrEqual(-1e-9); // never goes backwards
    expect(Math.max(...steps)).toBeLessThan(0.02); // no jumps
  });

  it("is bounded", () => {
    const jb = new JitterBuffer({ delayMs: 0, capacity: 4 });
    for (let i = 0; i < 10; i++) jb.push(frame(i, i, 0), i);
    expect(jb.size).toBe(4);
    expect(jb.dropped).toBe(6);
  });
});

describe("smoothing", () => {
  it("is frame-rate independent", () => {
    const run = (hz: number) => {
      let v = 0;
      for (let i = 0; i < hz * 0.2; i++) v = smoothToward(v, 1, 1 / hz, 0.05);
      return v;
    };
    expect(run(30)).toBeCloseTo(run(150), 9); // 6 and 30 steps over the same 0.2 s
    expect(run(60)).toBeCloseTo(1 - Math.exp(-0.2 / 0.05), 2); // 12 steps: 0.2 s, 4 time constants
  });

  it("slerps along the short arc", () => {
    const q = slerp(yaw(0), yaw(90), 0.5);
    expect((2 * Math.asin(q[1]) * 180) / Math.PI).toBeCloseTo(45, 6);
    const s = smoothQuat(yaw(0), yaw(30), 0.05, 0.05);
    expect((2 * Math.asin(s[1]) * 180) / Math.PI).toBeCloseTo(30 * (1 - Math.exp(-1)), 1);
  });
});

describe("blind A/B trials", async () => {
  const { newTrial } = await import("../../src/ui/ABView");
  it("shuffles sides only in blind mode, with a fresh id per trial", () => {
    let flip = false;
    const random = () => ((flip = !flip) ? 0.2 : 0.8);
    const lefts = Array.from({ length: 6 }, () => newTrial(true, random).left);
    expect(new Set(lefts)).toEqual(new Set(["A", "B"]));
    expect(Array.from({ length: 6 }, () => newTrial(false, random).left)).toEqual(Array(6).fill("A"));
    expect(newTrial(true).id).not.toBe(newTrial(true).id);
  });
});
