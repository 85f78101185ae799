import { OrbitControls } from "@react-three/drei";
import { Canvas, useFrame, useThree } from "@react-three/fiber";
import { useEffect, useMemo, useState } from "react";
import { AvatarDriver } from "../driving/applyPose";
import { IdleLife, withIdle } from "../driving/idleLife";
import { runtime, type Variant } from "../runtime";
import { loadAvatar, type AvatarModel } from "./avatarModel";

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
    const lively = idle ? life.step(dt) : undefined;
    const pose = buffer.sample(now);
    if (!pose || buffer.behindMs(now) > STALE_MS) {
      driver.rest(dt, lively);
      if (variant === "A") runtime.latencyMs = null;
      return;
    }
    driver.apply(lively && !pose.facePresent ? withIdle(pose, lively) : pose, dt);
    // Camera to avatar, while a face is tracked (without one, capture_ms stops moving and the
    // figure would only count the seconds since the face was lost).
    if (variant === "A") runtime.latencyMs = pose.captureMs && (pose.facePresent || !runtime.camera) ? now - pose.captureMs : null;
  });
  return <primitive object={model.root} />;
}

/** Frames the head of whichever avatar is loaded. */
function Framing({ y }: { y: number }) {
  const camera = useThree((s) => s.camera);
  useEffect(() => {
    camera.position.set(0, y, 0.75);
    camera.lookAt(0, y - 0.02, 0);
  }, [camera, y]);
  return <OrbitControls target={[0, y - 0.02, 0]} enablePan={false} minDistance={0.2} maxDistance={3} makeDefault />;
}

export interface AvatarViewProps {
  url: string;
  variant?: Variant;
  onLoaded: (model: AvatarModel) => void;
  onError: (message: string) => void;
  /** The scene's background colour; null leaves the canvas transparent (the OBS overlay). */
  background?: string | null;
  /** Idle life (breathing, blinks, glances) while no face drives the avatar; off in A/B. */
  idle?: boolean;
}

export function AvatarView({ url, variant = "A", onLoaded, onError, background = "#1e2230", idle = true }: AvatarViewProps) {
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
    <Canvas camera={{ position: [0, y, 0.75], fov: 28, near: 0.01, far: 50 }} gl={{ preserveDrawingBuffer: true, alpha: true }}>
      {background && <color attach="background" args={[background]} />}
      <hemisphereLight args={["#ffffff", "#404050", 1.6]} />
      <directionalLight position={[1, 2, 2]} intensity={2.2} />
      <directionalLight position={[-1.5, 1, 1]} intensity={0.8} />
      {model && <Driven model={model} variant={variant} idle={idle} />}
      <Framing y={y} />
    </Canvas>
  );
}
