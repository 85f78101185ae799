// Applies a (jitter-buffered, smoothed) pose to a loaded avatar: morph targets by name on
// every mesh, VRM expressions by name, bones by SLERP toward the target rotation.
import * as THREE from "three";
import { boneLocalRotation, type AvatarModel } from "../scene/avatarModel";
import { smoothToward, type Quat } from "./math";
import type { PoseFrame } from "./jitterBuffer";
import { withIdle, type IdlePose } from "./idleLife";
import { clampEyeRotation, DEFAULT_EYE_LIMITS, isLookChannel } from "./eyeLimits";

export interface DriveOptions {
  /** Time constant of the client-side smoothing of weights (s); visemes use `visemeTauS`. */
  weightTauS: number;
  visemeTauS: number;
  boneTauS: number;
}

export const DEFAULT_DRIVE: DriveOptions = { weightTauS: 0.03, visemeTauS: 0.015, boneTauS: 0.04 };

export class AvatarDriver {
  readonly applied = new Map<string, number>();
  private readonly target = new THREE.Quaternion();

  constructor(readonly model: AvatarModel, public options: DriveOptions = DEFAULT_DRIVE) {}

  apply(pose: PoseFrame, dtS: number): void {
    const { morphs, vrm } = this.model;
    const expressions = vrm?.expressionManager;
    // Eyes stay within the avatar's range; where eye bones turn the eyes, the eyeLook* morphs that
    // also move the iris are capped, so the two together never roll it out of sight.
    const limits = this.model.eyeLimits ?? DEFAULT_EYE_LIMITS;
    const eyeBones = this.model.bones.has("left_eye") || this.model.bones.has("right_eye");
    for (const [name, raw] of Object.entries(pose.weights)) {
      const value = eyeBones && isLookChannel(name) ? Math.min(raw, limits.lookWeightMax) : raw;
      const tau = name.startsWith("viseme_") ? this.options.visemeTauS : this.options.weightTauS;
      const w = smoothToward(this.applied.get(name) ?? 0, value, dtS, tau);
      this.applied.set(name, w);
      if (expressions?.getExpression(name)) {
        expressions.setValue(name, w);
        continue;
      }
      for (const b of morphs.get(name) ?? []) {
        if (b.mesh.morphTargetInfluences) b.mesh.morphTargetInfluences[b.index] = w;
      }
    }
    for (const [bone, q] of Object.entries(pose.bones)) {
      const binding = this.model.bones.get(bone);
      if (!binding) continue;
      const rotation = bone === "left_eye" || bone === "right_eye" ? clampEyeRotation(bone, q as Quat, limits) : (q as Quat);
      boneLocalRotation(binding, rotation, this.target);
      binding.node.quaternion.slerp(this.target, 1 - Math.exp(-dtS / this.options.boneTauS));
    }
    vrm?.update(dtS);
  }

  /** Eases toward the rest pose (every weight to 0, every bone to rest): the stream stopped.
   * With ``idle``, the rest pose breathes, blinks and looks around (driving/idleLife.ts). */
  rest(dtS: number, idle?: IdlePose): void {
    const weights = Object.fromEntries([...this.applied.keys()].map((k) => [k, 0]));
    const bones = Object.fromEntries([...this.model.bones.keys()].map((k) => [k, [0, 0, 0, 1] as Quat]));
    const pose: PoseFrame = { timestampMs: 0, sequence: 0, weights, bones, visemes: {}, facePresent: false, captureMs: null };
    this.apply(idle ? withIdle(pose, idle) : pose, dtS);
  }

  /** The weight applied to a channel (for the HUD, the debug panel and tests). */
  weight(name: string): number {
    return this.applied.get(name) ?? 0;
  }
}
