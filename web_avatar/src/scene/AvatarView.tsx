import { OrbitControls } from "@react-three/drei";
import { Canvas, useFrame, useThree } from "@react-three/fiber";
import { useEffect, useMemo, useState } from "react";
import * as THREE from "three";
import { RoomEnvironment } from "three/examples/jsm/environments/RoomEnvironment.js";
import { AvatarDriver } from "../driving/applyPose";
import { IdleLife, withIdle } from "../driving/idleLife";
import { runtime, type Variant } from "../runtime";
import { loadAvatar, type AvatarModel } from "./avatarModel";
import { pageRenderer } from "./renderer";

// A stream this far behind has stopped (the session ended, the network went): ease to rest.
const STALE_MS = 500;

function Driven({ model, variant, idle }: { model: AvatarModel; variant: Variant; idle: boolean }) {
  const life = useMemo(() => new IdleLife(Date.now() & 0xffff), []);
  useFrame((_, delta) => {
    const now = Date.now();
    const buffer = runtime.buffers[variant];
    const driver = runtime.drivers[variant];
    if (!driver) return;
    const dt = Math.min(delta, 0.1);
    // The frame before this one is on screen now: its delay counts from here (driving/drawMeter.ts).
    if (variant === "A") runtime.draw.frameStart(now);
    const lively = idle ? life.step(dt) : undefined;
    const pose = buffer.sample(now);
    if (!pose || buffer.behindMs(now) > STALE_MS) {
      driver.rest(dt, lively);
      if (variant === "A") runtime.draw.drawing(null);
      return;
    }
    driver.apply(lively && !pose.facePresent ? withIdle(pose, lively) : pose, dt);
    // Camera to avatar, while a face is tracked (without one, capture_ms stops moving and the
    // figure would only count the seconds since the face was lost).
    if (variant === "A") runtime.draw.drawing(pose.captureMs && (pose.facePresent || !runtime.sendsVideo) ? pose.captureMs : null);
  });
  return <primitive object={model.root} />;
}

/** Frames head and shoulders of whichever avatar is loaded, as a webcam frames its user. */
function Framing({ y }: { y: number }) {
  const camera = useThree((s) => s.camera);
  const target = y - 0.07;
  useEffect(() => {
    camera.position.set(0, target + 0.02, 0.95);
    camera.lookAt(0, target, 0);
  }, [camera, target]);
  return <OrbitControls target={[0, target, 0]} enablePan={false} minDistance={0.2} maxDistance={3} makeDefault />;
}

/** Image-based lighting from a room generated in code (three's RoomEnvironment: a lit box with
 * windows and lamps, prefiltered once), so skin, eyes and hair get soft light from every side
 * and believable highlights without downloading an HDR. */
function RoomLight() {
  const { gl, scene } = useThree();
  useEffect(() => {
    const pmrem = new THREE.PMREMGenerator(gl);
    const room = new RoomEnvironment();
    const texture = pmrem.fromScene(room, 0.04).texture;
    scene.environment = texture;
    scene.environmentIntensity = 0.55; // fill light; the two lamps below give the shape
    return () => {
      scene.environment = null;
      texture.dispose();
      room.dispose();
      pmrem.dispose();
    };
  }, [gl, scene]);
  return null;
}

/** Render quality: "high" renders at the screen's pixel ratio with image-based lighting;
 * "low" at one pixel per CSS pixel with plain lights, for slow machines and software GL. */
export type RenderQuality = "high" | "low";

/** "low" where WebGL runs in software (SwiftShader, llvmpipe: no GPU, or a blocklisted one),
 * where image-based lighting would take the CPU the capture and the stream need; else "high". */
export function defaultQuality(): RenderQuality {
  return pageRenderer().software ? "low" : "high";
}

export interface AvatarViewProps {
  url: string;
  variant?: Variant;
  onLoaded: (model: AvatarModel) => void;
  onError: (message: string) => void;
  /** The scene's background colour; null leaves the canvas transparent: the page's backdrop
   * shows (a gradient in the viewer, nothing in the OBS overlay). */
  background?: string | null;
  /** Idle life (breathing, blinks, glances) while no face drives the avatar; off in A/B. */
  idle?: boolean;
  quality?: RenderQuality;
}

export function AvatarView({ url, variant = "A", onLoaded, onError, background = null, idle = true,
  quality = "high" }: AvatarViewProps) {
  const [model, setModel] = useState<AvatarModel | null>(null);
  useEffect(() => {
    let cancelled = false;
    loadAvatar(url)
      .then((m) => {
        if (cancelled) return;
        runtime.drivers[variant] = new AvatarDriver(m);
        setModel(m);
        onLoaded(m);
      })
      .catch((e: Error) => !cancelled && onError(`could not load the avatar: ${e.message}`));
    return () => {
      cancelled = true;
      runtime.drivers[variant] = null;
    };
  }, [url, variant]);
  const y = model?.headHeight ?? 0.17;
  return (
    <Canvas camera={{ position: [0, y, 0.95], fov: 28, near: 0.01, far: 50 }} gl={{ preserveDrawingBuffer: true, alpha: true }}
      dpr={quality === "high" ? [1, 2] : 1}>
      {background && <color attach="background" args={[background]} />}
      {quality === "high" && <RoomLight />}
      {/* Key light above right, fill from the left, and light bounced up from the front, so
          the underside of the chin is not left in the dark. */}
      <hemisphereLight args={["#ffffff", "#8a7468", quality === "high" ? 0.6 : 1.4]} />
      <directionalLight position={[1, 2, 2]} intensity={quality === "high" ? 1.6 : 2.0} />
      <directionalLight position={[-1.5, 1, 1]} intensity={0.8} />
      <directionalLight position={[0, -0.6, 2]} intensity={quality === "high" ? 0.35 : 0.6} />
      {model && <Driven model={model} variant={variant} idle={idle} />}
      <Framing y={y} />
    </Canvas>
  );
}
