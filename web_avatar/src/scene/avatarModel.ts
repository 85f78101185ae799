// Loads any GLB/glTF/VRM (meshopt and Draco included, decoders served locally) and indexes
// what the stream drives: morph targets by name across every mesh, VRM expressions, and bones.
import { VRMLoaderPlugin, VRMUtils, type VRM } from "@pixiv/three-vrm";
import * as THREE from "three";
import { DRACOLoader } from "three/examples/jsm/loaders/DRACOLoader.js";
import { GLTFLoader } from "three/examples/jsm/loaders/GLTFLoader.js";
import { MeshoptDecoder } from "three/examples/jsm/libs/meshopt_decoder.module.js";
import { serverToken } from "../connection/auth";
import { DEFAULT_EYE_LIMITS, eyeLimitsFromLookAt, type EyeLimits } from "../driving/eyeLimits";
import type { Quat } from "../driving/math";
import { findArms, lowerArms, type Arm } from "./restPose";

export interface MorphBinding {
  mesh: THREE.Mesh;
  index: number;
}

export interface BoneBinding {
  node: THREE.Object3D;
  rest: THREE.Quaternion; // local rest rotation
  parentRest: THREE.Quaternion; // parent's rest rotation relative to the avatar root
}

export interface AvatarModel {
  root: THREE.Object3D;
  vrm: VRM | null;
  morphs: Map<string, MorphBinding[]>;
  bones: Map<string, BoneBinding>;
  headHeight: number;
  /** How far the eyes may turn (the VRM's lookAt ranges, else defaults); absent: the defaults. */
  eyeLimits?: EyeLimits;
  /** The upper arms found, lowered from a T-pose to the A-pose rest on load (scene/restPose.ts). */
  arms?: Arm[];
}

const BONE_NAMES: Record<string, string[]> = {
  head: ["head"],
  neck: ["neck"],
  left_eye: ["lefteye", "eyeleft", "eyel", "jadjlfaceeye"],
  right_eye: ["righteye", "eyeright", "eyer", "jadjrfaceeye"],
  spine: ["spine", "spine1"],
  chest: ["chest", "upperchest", "spine2"],
};
const VRM_BONES: Record<string, string> = {
  head: "head", neck: "neck", left_eye: "leftEye", right_eye: "rightEye", spine: "spine", chest: "chest",
};

let dracoLoader: DRACOLoader | null = null;

/** The headers an avatar's request carries: the server's token as a Bearer header for this
 * server's own API (`/v1/rigs/{id}/avatar`: the full token or the watch token), nothing for any
 * other URL (the token never leaves for another site, nor goes into a URL). */
export function avatarRequestHeaders(url: string, origin: string, token: string | null): Record<string, string> {
  if (!token) return {};
  let target: URL;
  try {
    target = new URL(url, origin);
  } catch {
    return {};
  }
  return target.origin === origin && target.pathname.startsWith("/v1/") ? { Authorization: `Bearer ${token}` } : {};
}

export async function loadAvatar(url: string): Promise<AvatarModel> {
  const loader = new GLTFLoader();
  loader.setRequestHeader(avatarRequestHeaders(url, location.origin, serverToken()));
  dracoLoader ??= new DRACOLoader().setDecoderPath("/draco/");
  loader.setDRACOLoader(dracoLoader);
  loader.setMeshoptDecoder(MeshoptDecoder);
  loader.register((parser) => new VRMLoaderPlugin(parser));
  const gltf = await loader.loadAsync(url);
  const vrm = (gltf.userData.vrm as VRM | undefined) ?? null;
  if (vrm) {
    VRMUtils.removeUnnecessaryVertices(gltf.scene);
    VRMUtils.rotateVRM0(vrm); // VRM 0.x faces -Z; turn it to face the camera like the rest
  }
  const root = vrm ? vrm.scene : gltf.scene;
  root.updateMatrixWorld(true);
  // Arms down before anything records a rest rotation: the A-pose is the rest.
  const arms = findArms(root, vrm);
  lowerArms(root, arms);
  if (vrm) vrm.humanoid.update(); // normalized bones -> the skinned ones
  root.updateMatrixWorld(true);
  return {
    root, vrm, morphs: indexMorphs(root), bones: findBones(root, vrm), headHeight: headHeight(root),
    eyeLimits: vrmEyeLimits(vrm), arms,
  };
}

/** The VRM's own lookAt ranges (three-vrm reads both VRM 0.x curves and VRM 1.0 range maps). */
function vrmEyeLimits(vrm: VRM | null): EyeLimits {
  const applier = vrm?.lookAt?.applier as
    | { type?: string; rangeMapHorizontalInner?: { outputScale: number }; rangeMapHorizontalOuter?: { outputScale: number };
        rangeMapVerticalDown?: { outputScale: number }; rangeMapVerticalUp?: { outputScale: number } }
    | undefined;
  if (!applier?.rangeMapHorizontalOuter) return DEFAULT_EYE_LIMITS;
  const type = (applier.constructor as { type?: string }).type === "expression" ? "expression" : "bone";
  const source = vrm?.meta?.metaVersion === "0" ? "vrm0" : "vrm1";
  return eyeLimitsFromLookAt({
    type,
    horizontalInner: applier.rangeMapHorizontalInner?.outputScale,
    horizontalOuter: applier.rangeMapHorizontalOuter?.outputScale,
    verticalDown: applier.rangeMapVerticalDown?.outputScale,
    verticalUp: applier.rangeMapVerticalUp?.outputScale,
  }, source);
}

function indexMorphs(root: THREE.Object3D): Map<string, MorphBinding[]> {
  const morphs = new Map<string, MorphBinding[]>();
  root.traverse((o) => {
    const mesh = o as THREE.Mesh;
    if (!mesh.isMesh || !mesh.morphTargetDictionary) return;
    for (const [name, index] of Object.entries(mesh.morphTargetDictionary)) {
      const list = morphs.get(name) ?? [];
      list.push({ mesh, index });
      morphs.set(name, list);
    }
  });
  return morphs;
}

const norm = (s: string) => s.toLowerCase().replace(/^(mixamorig|j_bip_c_|j_adj_[lr]_)/, "").replace(/[^a-z0-9]/g, "");

function findBones(root: THREE.Object3D, vrm: VRM | null): Map<string, BoneBinding> {
  const bones = new Map<string, BoneBinding>();
  const rootInverse = root.getWorldQuaternion(new THREE.Quaternion()).invert();
  const bind = (name: string, node: THREE.Object3D | null | undefined) => {
    if (!node || bones.has(name)) return;
    const parentRest = node.parent
      ? rootInverse.clone().multiply(node.parent.getWorldQuaternion(new THREE.Quaternion()))
      : new THREE.Quaternion();
    bones.set(name, { node, rest: node.quaternion.clone(), parentRest });
  };
  if (vrm) {
    for (const [bone, vrmName] of Object.entries(VRM_BONES)) {
      bind(bone, vrm.humanoid.getNormalizedBoneNode(vrmName as never));
    }
  }
  const candidates: THREE.Object3D[] = [];
  root.traverse((o) => {
    if ((o as THREE.Bone).isBone || !(o as THREE.Mesh).isMesh) candidates.push(o);
  });
  for (const [bone, names] of Object.entries(BONE_NAMES)) {
    for (const n of names) {
      const node = candidates.find((o) => norm(o.name) === n);
      if (node) {
        bind(bone, node);
        break;
      }
    }
  }
  return bones;
}

function headHeight(root: THREE.Object3D): number {
  const box = new THREE.Box3().setFromObject(root);
  let head: THREE.Object3D | undefined;
  root.traverse((o) => {
    if (!head && norm(o.name) === "head") head = o;
  });
  return head ? head.getWorldPosition(new THREE.Vector3()).y + 0.07 : box.max.y - 0.12;
}

/** Rotation `q` (in the avatar's frame, relative to rest) applied to a bone of any local orientation. */
export function boneLocalRotation(b: BoneBinding, q: Quat, out: THREE.Quaternion): THREE.Quaternion {
  const delta = new THREE.Quaternion(q[0], q[1], q[2], q[3]);
  // local = P^-1 * delta * P * rest, with P the parent's rest rotation in the avatar frame
  return out.copy(b.parentRest).invert().multiply(delta).multiply(b.parentRest).multiply(b.rest);
}
