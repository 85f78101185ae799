// The rest pose of a humanoid avatar: arms down (an A-pose) instead of the T-pose most files are
// exported in (issue 25: Ready Player Me and VRoid stood with their arms straight out). Applied
// once on load, before the driver records rest rotations, so it is the rest that body tracking
// will later drive from.
import type { VRM } from "@pixiv/three-vrm";
import * as THREE from "three";

/** How far below horizontal the upper arms hang at rest. */
export const ARMS_DOWN_DEG = 65;
/** Arms already more than this far below horizontal are left as they are (an A-pose file). */
const ALREADY_DOWN_DEG = 30;

/** Upper-arm node names (lower case, letters and digits only) of Mixamo/RPM, VRoid and others. */
const UPPER_ARM_NAMES: Record<"left" | "right", string[]> = {
  left: ["leftarm", "leftupperarm", "upperarml", "larm", "jbiplupperarm", "mixamorigleftarm"],
  right: ["rightarm", "rightupperarm", "upperarmr", "rarm", "jbiprupperarm", "mixamorigrightarm"],
};
const VRM_ARMS = { left: ["leftUpperArm", "leftLowerArm"], right: ["rightUpperArm", "rightLowerArm"] } as const;

const flat = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, "");

export interface Arm {
  side: "left" | "right";
  upper: THREE.Object3D;
  /** The next joint down the arm (the elbow): the arm points from `upper` to it. */
  lower: THREE.Object3D;
}

/** Both upper arms and their elbows, from VRM humanoid bones or by name; [] for a head-only avatar. */
export function findArms(root: THREE.Object3D, vrm: VRM | null): Arm[] {
  const arms: Arm[] = [];
  for (const side of ["left", "right"] as const) {
    if (vrm) {
      const upper = vrm.humanoid.getNormalizedBoneNode(VRM_ARMS[side][0]);
      const lower = vrm.humanoid.getNormalizedBoneNode(VRM_ARMS[side][1]);
      if (upper && lower) {
        arms.push({ side, upper, lower });
        continue;
      }
    }
    let upper: THREE.Object3D | undefined;
    root.traverse((o) => {
      if (!upper && !(o as THREE.Mesh).isMesh && UPPER_ARM_NAMES[side].includes(flat(o.name))) upper = o;
    });
    const lower = upper?.children.find((c) => !(c as THREE.Mesh).isMesh);
    if (upper && lower) arms.push({ side, upper, lower });
  }
  return arms;
}

/** Degrees the arm points below horizontal (world frame; the avatar stands along +Y). */
export function armDropDeg(arm: Arm): number {
  const a = arm.upper.getWorldPosition(new THREE.Vector3());
  const dir = arm.lower.getWorldPosition(new THREE.Vector3()).sub(a).normalize();
  return (Math.asin(Math.max(-1, Math.min(1, -dir.y))) * 180) / Math.PI;
}

/** Lowers each arm that is near horizontal to `degrees` below it, keeping its heading (front or
 * back, left or right); returns how many it lowered. */
export function lowerArms(root: THREE.Object3D, arms: Arm[], degrees = ARMS_DOWN_DEG): number {
  root.updateMatrixWorld(true);
  let lowered = 0;
  for (const arm of arms) {
    if (armDropDeg(arm) > ALREADY_DOWN_DEG) continue;
    const a = arm.upper.getWorldPosition(new THREE.Vector3());
    const dir = arm.lower.getWorldPosition(new THREE.Vector3()).sub(a).normalize();
    const heading = new THREE.Vector3(dir.x, 0, dir.z);
    if (heading.lengthSq() < 1e-8) continue;
    heading.normalize();
    const r = (degrees * Math.PI) / 180;
    const target = heading.multiplyScalar(Math.cos(r)).add(new THREE.Vector3(0, -Math.sin(r), 0));
    const turn = new THREE.Quaternion().setFromUnitVectors(dir, target.normalize());
    const world = turn.multiply(arm.upper.getWorldQuaternion(new THREE.Quaternion()));
    const parent = arm.upper.parent ? arm.upper.parent.getWorldQuaternion(new THREE.Quaternion()) : new THREE.Quaternion();
    arm.upper.quaternion.copy(parent.invert().multiply(world));
    arm.upper.updateMatrixWorld(true);
    lowered++;
  }
  return lowered;
}
