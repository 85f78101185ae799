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

describe("eye limits (issue 25: VRoid's eyes rolled white looking up-right)", async () => {
  const THREE = await import("three");
  const { AvatarDriver } = await import("../../src/driving/applyPose");
  const { clampEyeRotation, DEFAULT_EYE_LIMITS, eyeLimitsFromLookAt, gazeAngles, gazeQuat } = await import("../../src/driving/eyeLimits");

  /** A head with two eye bones and an eyeLook morph target, as the real avatars have. */
  function model(eyeLimits?: import("../../src/driving/eyeLimits").EyeLimits) {
    const root = new THREE.Object3D();
    const bones = new Map();
    for (const name of ["left_eye", "right_eye"]) {
      const node = new THREE.Bone();
      root.add(node);
      bones.set(name, { node, rest: new THREE.Quaternion(), parentRest: new THREE.Quaternion() });
    }
    const mesh = new THREE.Mesh();
    mesh.morphTargetInfluences = [0];
    const morphs = new Map([["eyeLookOutRight", [{ mesh, index: 0 }]]]);
    return { root, vrm: null, morphs, bones, headHeight: 1.5, eyeLimits };
  }

  it("keeps an eye bone within the range when the face looks far up and to the right", () => {
    const m = model();
    const driver = new AvatarDriver(m as never, { weightTauS: 0, visemeTauS: 0, boneTauS: 0.0001 });
    const upRight = gazeQuat(-35, -30); // the avatar's right, up
    const pose: PoseFrame = { timestampMs: 0, sequence: 0, weights: { eyeLookOutRight: 1 }, bones: { left_eye: upRight, right_eye: upRight },
      visemes: {}, facePresent: true, captureMs: null };
    driver.apply(pose, 1);
    const q = (name: string) => { const r = m.bones.get(name).node.quaternion; return [r.x, r.y, r.z, r.w] as Quat; };
    const left = gazeAngles(q("left_eye")), right = gazeAngles(q("right_eye"));
    expect(left.yaw).toBeCloseTo(-DEFAULT_EYE_LIMITS.yawIn, 3);
    expect(right.yaw).toBeCloseTo(-DEFAULT_EYE_LIMITS.yawOut, 3);
    expect(left.pitch).toBeCloseTo(-DEFAULT_EYE_LIMITS.up, 3);
    // the morph that also moves the iris is capped while the bones turn the eyes
    expect(m.morphs.get("eyeLookOutRight")![0].mesh.morphTargetInfluences![0]).toBeCloseTo(DEFAULT_EYE_LIMITS.lookWeightMax, 6);
  });

  it("uses a VRM's own lookAt ranges and leaves gazes inside them alone", () => {
    const vrm = eyeLimitsFromLookAt({ type: "bone", horizontalInner: 8, horizontalOuter: 20, verticalDown: 10, verticalUp: Number.NaN });
    expect([vrm.yawIn, vrm.yawOut, vrm.down, vrm.up]).toEqual([8, 20, 10, DEFAULT_EYE_LIMITS.up]);
    expect(eyeLimitsFromLookAt({ type: "expression", horizontalOuter: 0.7, verticalUp: 2 }).lookWeightMax).toBe(0.7);
    const inside = gazeQuat(5, -4);
    expect(clampEyeRotation("left_eye", inside, vrm)).toBe(inside);
    const g = gazeAngles(clampEyeRotation("left_eye", gazeQuat(40, 30), vrm));
    expect(g.yaw).toBeCloseTo(20, 3);
    expect(g.pitch).toBeCloseTo(10, 3);
  });
});

describe("A-pose rest (issue 25: RPM and VRoid stood in a T-pose)", async () => {
  const THREE = await import("three");
  const { ARMS_DOWN_DEG, armDropDeg, findArms, lowerArms } = await import("../../src/scene/restPose");

  /** A Mixamo/RPM-style skeleton (bone names as in the real avatars) with its arms straight out. */
  function tPose(yawDeg = 0) {
    const root = new THREE.Object3D();
    root.rotation.y = (yawDeg * Math.PI) / 180;
    const hips = new THREE.Bone(); hips.name = "Hips"; hips.position.set(0, 1, 0); root.add(hips);
    const spine = new THREE.Bone(); spine.name = "Spine2"; spine.position.set(0, 0.4, 0); hips.add(spine);
    for (const [side, x] of [["Left", 1], ["Right", -1]] as const) {
      const shoulder = new THREE.Bone(); shoulder.name = `${side}Shoulder`; shoulder.position.set(0.05 * x, 0.1, 0);
      // a local rotation in the bone, as exporters leave them: the arm still points along ±X in the world
      shoulder.rotation.set(0.3, 0.2, -0.4 * x);
      spine.add(shoulder);
      shoulder.updateMatrixWorld(true);
      const arm = new THREE.Bone(); arm.name = `${side}Arm`; shoulder.add(arm);
      const fore = new THREE.Bone(); fore.name = `${side}ForeArm`; arm.add(fore);
      root.updateMatrixWorld(true);
      // the upper arm 0.1 m out from the shoulder, the elbow 0.25 m further, straight along ±X in the world
      const shoulderWorld = shoulder.localToWorld(new THREE.Vector3(0.1 * x, 0, 0));
      arm.position.copy(shoulder.worldToLocal(shoulderWorld.clone()));
      root.updateMatrixWorld(true);
      fore.position.copy(new THREE.Vector3(0.25 * x, 0, 0).add(shoulderWorld).applyMatrix4(new THREE.Matrix4().copy(arm.matrixWorld).invert()));
    }
    root.updateMatrixWorld(true);
    return root;
  }

  it("lowers both arms of a T-pose to the A-pose on load, outward and down", () => {
    const root = tPose();
    const arms = findArms(root, null);
    expect(arms.map((a) => `${a.side}:${a.upper.name}>${a.lower.name}`)).toEqual(["left:LeftArm>LeftForeArm", "right:RightArm>RightForeArm"]);
    expect(arms.every((a) => Math.abs(armDropDeg(a)) < 1)).toBe(true); // arms straight out
    expect(lowerArms(root, arms)).toBe(2);
    for (const arm of arms) {
      expect(armDropDeg(arm)).toBeCloseTo(ARMS_DOWN_DEG, 3);
      const elbow = arm.lower.getWorldPosition(new THREE.Vector3());
      expect(Math.sign(elbow.x)).toBe(arm.side === "left" ? 1 : -1); // still on its own side
    }
    // an avatar already in an A-pose is left as it is
    expect(lowerArms(root, arms)).toBe(0);
  });

  it("lowers the arms of an avatar turned to face the camera, and leaves a head-only avatar alone", () => {
    const root = tPose(180);
    expect(lowerArms(root, findArms(root, null))).toBe(2);
    expect(findArms(root, null).every((a) => Math.abs(armDropDeg(a) - ARMS_DOWN_DEG) < 1e-3)).toBe(true);
    const head = new THREE.Object3D();
    head.add(Object.assign(new THREE.Bone(), { name: "Head" }));
    expect(findArms(head, null)).toEqual([]);
  });
});
