// Issue 25 items 5 and 6, as checks run.mjs calls with its page: a VRoid looking far up-right keeps
// its irises in sight (eye bones within the avatar's range, the eyeLook morphs capped), third-party
// avatars rest with their arms down (not a T-pose), and an upload shows its progress and names the
// file. Each function throws an Error saying what went wrong.

const fail = (message) => { throw new Error(message); };

/** The loaded avatar's eye gaze (degrees, relative to rest) after a pose far up and to the avatar's
 * right (35° yaw, 30° pitch up) with every eyeLook weight at 1, applied in-page to the driver. */
export async function checkEyesStayInRange(page) {
  const r = await page.evaluate(() => {
    const driver = window.__avatarDriver.runtime.drivers.A;
    if (!driver) return { error: "no avatar driver" };
    const m = driver.model;
    const limits = m.eyeLimits ?? { yawIn: 12, yawOut: 14, up: 10, down: 12, lookWeightMax: 0.5 };
    const half = (d) => (d * Math.PI) / 360;
    const [cy, sy, cp, sp] = [Math.cos(half(-35)), Math.sin(half(-35)), Math.cos(half(-30)), Math.sin(half(-30))];
    const q = [cy * sp, sy * cp, -sy * sp, cy * cp];
    const weights = Object.fromEntries(["Up", "Down", "In", "Out"].flatMap((d) => [`eyeLook${d}Left`, `eyeLook${d}Right`]).map((n) => [n, 1]));
    driver.options = { ...driver.options, boneTauS: 1e-6, weightTauS: 0 };
    driver.apply({ timestampMs: 0, sequence: 0, weights, bones: { left_eye: q, right_eye: q }, visemes: {}, facePresent: true, captureMs: null }, 1);
    const out = { limits, eyes: {}, lookMax: Math.max(...Object.keys(weights).map((n) => driver.weight(n))) };
    for (const eye of ["left_eye", "right_eye"]) {
      const b = m.bones.get(eye);
      if (!b) continue;
      // local = P^-1 · delta · P · rest  =>  delta = P · local · rest^-1 · P^-1
      const P = b.parentRest.clone();
      const delta = P.clone().multiply(b.node.quaternion.clone()).multiply(b.rest.clone().invert()).multiply(P.clone().invert());
      const { x, y, z, w } = delta;
      const dx = 2 * (x * z + w * y), dy = 2 * (y * z - w * x), dz = 1 - 2 * (x * x + y * y);
      out.eyes[eye] = { yaw: (Math.atan2(dx, dz) * 180) / Math.PI, pitch: (-Math.asin(Math.max(-1, Math.min(1, dy))) * 180) / Math.PI };
    }
    return out;
  });
  if (r.error) fail(r.error);
  if (!Object.keys(r.eyes).length) fail("the avatar has no eye bones");
  const tol = 0.5;
  for (const [eye, g] of Object.entries(r.eyes)) {
    const [lo, hi] = eye === "left_eye" ? [-r.limits.yawIn, r.limits.yawOut] : [-r.limits.yawOut, r.limits.yawIn];
    if (g.yaw < lo - tol || g.yaw > hi + tol || g.pitch < -r.limits.up - tol || g.pitch > r.limits.down + tol) {
      fail(`${eye} turned to yaw ${g.yaw.toFixed(1)}°, pitch ${g.pitch.toFixed(1)}°: outside ${JSON.stringify(r.limits)}`);
    }
  }
  if (r.lookMax > r.limits.lookWeightMax + 1e-6) fail(`eyeLook weights reached ${r.lookMax} (at most ${r.limits.lookWeightMax})`);
  return r;
}

/** Both upper arms of the loaded avatar hang at least `minDropDeg` below horizontal. */
export async function checkArmsDown(page, minDropDeg = 50) {
  const drops = await page.evaluate(() => {
    const m = window.__avatarDriver.runtime.drivers.A?.model;
    return (m?.arms ?? []).map((a) => {
      const p = a.upper.getWorldPosition(a.upper.position.clone());
      const e = a.lower.getWorldPosition(a.lower.position.clone());
      const d = e.sub(p).normalize();
      return { side: a.side, drop: (Math.asin(-d.y) * 180) / Math.PI };
    });
  });
  if (drops.length !== 2) fail(`found ${drops.length} upper arms, not 2: ${JSON.stringify(drops)}`);
  for (const { side, drop } of drops) if (drop < minDropDeg) fail(`the ${side} arm is only ${drop.toFixed(0)}° below horizontal (T-pose)`);
  return drops;
}

/** Chooses `path` in the avatar file box and checks that the box shows the upload's progress
 * naming the file, then its rig, within `maxSeconds` (1.5× `avatar-driver rig inspect` on it);
 * the file box names the current avatar afterwards. Returns the seconds it took. */
export async function checkUploadShowsProgress(page, path, maxSeconds) {
  const name = path.split("/").pop();
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const started = Date.now();
  await page.getByTestId("avatar-file").setInputFiles(path);
  await page.getByText(new RegExp(`${escaped}: (uploading|building its rig)`)).first().waitFor({ timeout: 10000 });
  await page.getByText(new RegExp(`${escaped}: \\d+ channels`)).waitFor({ timeout: 120000 });
  const seconds = (Date.now() - started) / 1000;
  const shown = await page.getByTestId("avatar-name").textContent();
  if (!shown?.includes(name)) fail(`the file box shows ${JSON.stringify(shown)}, not ${name}`);
  if (seconds > maxSeconds) fail(`the upload took ${seconds.toFixed(1)} s (at most ${maxSeconds.toFixed(1)} s)`);
  return seconds;
}
