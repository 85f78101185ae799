// End to end in Debian's Chromium (headless) against the real server and the built viewer.
// Chromium's fake camera and microphone play media made from a real photo. Prints
// "N passed, N failed" and exits non-zero on any failure. Screenshots: test-output/e2e/.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { checkArmsDown, checkEyesStayInRange, checkUploadShowsProgress } from "./avatar_checks.mjs";
import { checkAbAfterBlind, checkConsentLayout, checkDelayIsHonest } from "./honesty_checks.mjs";
import { checkOverlayDrawsPublishersAvatar } from "./overlay_avatar_checks.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const web = resolve(here, "../..");
const repo = resolve(web, "..");
const python = join(repo, ".venv/bin/python");
const shots = join(web, "test-output/e2e");
const avatars = resolve(repo, "../shared/avatars");
mkdirSync(shots, { recursive: true });

const results = [];
// E2E_ONLY=regex runs only the matching checks (those that stand alone: the camera shapes, the microphone).
const only = process.env.E2E_ONLY ? new RegExp(process.env.E2E_ONLY) : null;
async function check(name, fn) {
  if (only && !only.test(name)) return;
  const started = Date.now();
  try {
    await fn();
    results.push([name, true]);
    console.log(`PASS ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    results.push([name, false]);
    console.log(`FAIL ${name}: ${e.message}`);
  }
}
function assert(cond, message) {
  if (!cond) throw new Error(message);
}
const freePort = () => new Promise((ok) => {
  const s = createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => ok(p)); });
});

const media = mkdtempSync(join(tmpdir(), "avatar-e2e-"));
const made = spawnSync(python, [join(here, "make_media.py"), media], { encoding: "utf8" });
if (made.status !== 0) throw new Error(`could not make the test media: ${made.stderr}`);

const port = await freePort();
// Behind a token, as a deployment is: the viewer gets it from its URL fragment (#token=).
const token = `e2e-${Math.random().toString(36).slice(2)}`;
const auth = { headers: { Authorization: `Bearer ${token}` } };
// The same server again on the same port, data and token after a kill (the restart check).
const startServer = () => spawn(join(repo, ".venv/bin/avatar-driver"), ["serve", "--port", String(port)], {
  cwd: repo, env: { ...process.env, AVATAR_DRIVER_DATA_DIR: join(media, "data"), AVATAR_DRIVER_LOG_LEVEL: "warning",
    AVATAR_DRIVER_TOKEN: token },
  stdio: ["ignore", "inherit", "inherit"],
});
let server = startServer();
const base = `http://127.0.0.1:${port}`;
async function serverUp() {
  for (let i = 0; i < 150; i++) {
    try { if ((await fetch(`${base}/healthz`)).ok) return; } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("the server did not come up within 30 s");
}
await serverUp();

// Chromium's fake camera plays one file per browser: a camera of another shape is another browser.
const launch = (video, audio = "voice.wav") => chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
    `--use-file-for-fake-video-capture=${join(media, video)}`, `--use-file-for-fake-audio-capture=${join(media, audio)}`,
    "--autoplay-policy=no-user-gesture-required", "--enable-unsafe-swiftshader", "--use-angle=swiftshader"],
});
const browser = await launch("face.y4m");
// Software WebGL on two cores shares them with the server's inference: keep the canvas modest.
const page = await browser.newPage({ viewport: { width: 1024, height: 640 } });
const consoleErrors = [];
page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
page.on("pageerror", (e) => consoleErrors.push(String(e)));
const hook = (expr) => page.evaluate(expr);
const waitFor = async (expr, timeout = 30000) => {
  try {
    await page.waitForFunction(expr, null, { timeout, polling: 100 });
  } catch {
    throw new Error(`not true within ${timeout / 1000} s: ${expr}`);
  }
};

try {
  await check("page loads with the default avatar and asks for consent first", async () => {
    assert((await fetch(`${base}/v1/strategies`)).status === 401, "the REST API answered without the token");
    await page.goto(`${base}/#token=${token}`);
    await page.getByTestId("consent").waitFor();
    assert(!page.url().includes(token), "the token stayed in the address bar");
    await waitFor("window.__avatarDriver?.avatar().morphs >= 67");
    assert(await hook("window.__avatarDriver.runtime.state") === "idle", "connected before consent");
    await page.screenshot({ path: join(shots, "01-consent.png") });
  });

  await check("the consent form fits the sidebar and says lip-sync needs the microphone", () => checkConsentLayout(page));

  await check("after consent it connects and frames flow both ways", async () => {
    await page.locator("label", { hasText: "Microphone" }).locator("input").check();
    await page.locator("label", { hasText: "User id" }).locator("input").fill("e2e-user");
    await page.getByTestId("start").click();
    await page.getByTestId("recording").waitFor();
    await waitFor("window.__avatarDriver.runtime.state === 'open' && window.__avatarDriver.runtime.framesReceived > 60");
    let m = "";
    for (let i = 0; i < 100; i++) {  // the camera and the microphone start a moment after the socket
      m = await (await fetch(`${base}/metrics`, auth)).text();
      if (/frames_in_total\{kind="video"\} [1-9]/.test(m) && /frames_in_total\{kind="audio"\} [1-9]/.test(m)) break;
      await new Promise((r) => setTimeout(r, 150));
    }
    assert(/avatar_driver_frames_in_total\{kind="video"\} [1-9]/.test(m), "no video frames reached the server");
    assert(/avatar_driver_frames_in_total\{kind="audio"\} [1-9]/.test(m), "no audio chunks reached the server");
    // The default transport is auto: WebRTC on loopback (host candidates), its tracks and peer on the server.
    assert(await hook("window.__avatarDriver.runtime.transport") === "webrtc", "auto did not use WebRTC");
    assert(/avatar_driver_webrtc_peers 1\.0/.test(m) && /avatar_driver_webrtc_tracks\{kind="video"\} 1\.0/.test(m)
      && /avatar_driver_webrtc_tracks\{kind="audio"\} 1\.0/.test(m), "the server has no WebRTC peer with two tracks");
    await page.waitForFunction("/WebRTC rtt \\d+ ms/.test(document.querySelector('[data-testid=transport-used]')?.innerText)",
      null, { timeout: 10000, polling: 200 });
  });

  await check("the avatar's smile rises when the video shows the smiling face", async () => {
    // The fake camera loops: 1.5 s of a cat, then the smiling astronaut.
    await waitFor("window.__avatarDriver.weight('mouthSmileLeft') < 0.1", 20000);
    await waitFor("window.__avatarDriver.weight('mouthSmileLeft') > 0.45 && window.__avatarDriver.weight('mouthSmileRight') > 0.45", 20000);
    await page.screenshot({ path: join(shots, "02-smiling.png") });
    const hud = await page.getByTestId("hud").innerText();
    console.log(`  HUD: ${hud.split("\n").slice(0, 2).join(" | ")}`);
    assert(/live/.test(hud) && /happy/.test(hud) && /face tracked/.test(hud), `HUD: ${hud}`);
    // The cat comes back: the HUD says tracking is lost and stops counting the delay.
    await page.waitForFunction("document.querySelector('[data-testid=tracking]')?.innerText.includes('tracking lost')",
      null, { timeout: 20000, polling: 50 });
    await page.waitForFunction("window.__avatarDriver.runtime.latencyMs === null", null, { timeout: 3000, polling: 20 });
  });

  await check("software rendering is said and the delay shown is not below the capture-to-draw lag", () => checkDelayIsHonest(page));

  await check("watch mode shows the same session in another tab", async () => {
    const sid = await hook("window.__avatarDriver.runtime.sessionId");
    const watcher = await browser.newPage({ viewport: { width: 900, height: 700 } });
    await watcher.goto(`${base}/?watch=${sid}#token=${token}`);  // as an OBS browser source is set up
    await watcher.waitForFunction("window.__avatarDriver?.runtime.framesReceived > 30", null, { timeout: 20000 });
    await watcher.waitForFunction("window.__avatarDriver.weight('mouthSmileLeft') > 0.3", null, { timeout: 20000, polling: 100 });
    await watcher.screenshot({ path: join(shots, "03-watch.png") });
    await watcher.close();
  });

  await check("when the WebRTC offer is refused, auto falls back to the WebSocket and the avatar moves", async () => {
    const p = await browser.newPage({ viewport: { width: 800, height: 560 } });
    p.on("pageerror", (e) => consoleErrors.push(String(e)));
    try {
      await p.route("**/v1/webrtc/offer", (route) => route.fulfill({ status: 503, contentType: "application/json",
        body: JSON.stringify({ detail: { code: "server_busy", message: "refused by the test" } }) }));
      await p.goto(`${base}/#token=${token}`);
      await p.getByTestId("start").click();
      await p.waitForFunction("window.__avatarDriver.runtime.state === 'open' && window.__avatarDriver.runtime.framesReceived > 30",
        null, { timeout: 20000 });
      assert(await p.evaluate("window.__avatarDriver.runtime.transport") === "websocket", "it did not fall back");
      assert(/server_busy/.test(await p.evaluate("window.__avatarDriver.runtime.lastError")), "the refusal was not kept");
      await p.waitForFunction("document.querySelector('[data-testid=transport-used]')?.innerText.includes('WebSocket')",
        null, { timeout: 5000 });
      await p.waitForFunction("window.__avatarDriver.weight('mouthSmileLeft') > 0.3", null, { timeout: 20000, polling: 100 });
    } finally {
      await p.close();
    }
  });

  await check("the OBS overlay shows only the avatar, on a transparent page or a chroma key", async () => {
    const sid = await hook("window.__avatarDriver.runtime.sessionId");
    // RGBA of a screenshot's pixels at fractions of its size, read with OpenCV (PNG alpha kept).
    const pixels = (path, points) => JSON.parse(spawnSync(python, ["-c", `import cv2, json, sys
img = cv2.imread(sys.argv[1], cv2.IMREAD_UNCHANGED); h, w = img.shape[:2]
print(json.dumps([[int(c) for c in img[int(fy * (h - 1)), int(fx * (w - 1))]] for fx, fy in json.loads(sys.argv[2])]))`,
      path, JSON.stringify(points)], { encoding: "utf8" }).stdout);
    const overlay = await browser.newPage({ viewport: { width: 640, height: 640 } });
    await overlay.goto(`${base}/?overlay=1&watch=${sid}#token=${token}`);
    await overlay.waitForFunction("window.__avatarDriver?.weight('mouthSmileLeft') > 0.3", null, { timeout: 30000, polling: 100 });
    assert(await overlay.getByTestId("hud").count() === 0 && await overlay.locator("aside").count() === 0, "panels shown");
    const shot = join(shots, "03-overlay.png");
    await overlay.screenshot({ path: shot, omitBackground: true });
    const [corner, edge, face] = pixels(shot, [[0.02, 0.02], [0.98, 0.5], [0.5, 0.45]]);  // BGRA
    assert(corner[3] === 0 && edge[3] === 0, `not transparent around the avatar: ${corner} ${edge}`);
    assert(face[3] === 255, `the avatar is not opaque: ${face}`);
    await overlay.goto(`${base}/?overlay=1&chroma=00ff00&watch=${sid}`);
    await overlay.waitForFunction("window.__avatarDriver?.runtime.framesReceived > 10", null, { timeout: 30000 });
    await overlay.screenshot({ path: join(shots, "03-overlay-chroma.png") });
    const [keyed] = pixels(join(shots, "03-overlay-chroma.png"), [[0.02, 0.02]]);
    assert(keyed[0] < 30 && keyed[1] > 225 && keyed[2] < 30, `no green key: ${keyed}`);
    await overlay.close();
  });

  await check("watching a name that is not live says it waits for it; an id that cannot be one says unknown", async () => {
    // A name waits (wait=true), quietly: one connection, not a retry loop.
    const watcher = await browser.newPage({ viewport: { width: 640, height: 480 } });
    await watcher.goto(`${base}/?watch=no-such-session#token=${token}`);
    await watcher.waitForFunction("window.__avatarDriver?.runtime.state === 'paused'", null, { timeout: 15000 });
    await watcher.waitForTimeout(1500);
    assert(await watcher.evaluate("window.__avatarDriver.runtime.state") === "paused", "it did not stay waiting");
    const hud = await watcher.getByTestId("hud").innerText();
    assert(/waiting for the session to start/.test(hud), `the HUD does not say it waits: ${hud}`);
    // Shorter than a name: not a session the server could ever have, and no wait to ask for.
    await watcher.goto(`${base}/?watch=nope#token=${token}`);
    await watcher.waitForFunction("window.__avatarDriver?.runtime.state === 'closed'", null, { timeout: 15000 });
    const detail = await watcher.evaluate("window.__avatarDriver.runtime.stateDetail");
    assert(/unknown session/.test(detail), `state detail: ${detail}`);
    await watcher.waitForTimeout(1500);
    assert(await watcher.evaluate("window.__avatarDriver.runtime.state") === "closed", "it reconnected");
    assert(/unknown session/.test(await watcher.getByTestId("hud").innerText()), "the HUD does not say it");
    await watcher.close();
  });

  await check("the calibration wizard guides the first step and can be cancelled", async () => {
    await page.getByText("Start calibration").click();
    await page.getByText("Relax your face and look straight at the camera.").waitFor({ timeout: 10000 });
    await page.screenshot({ path: join(shots, "04-wizard.png") });
    await page.getByText("Cancel").click();
    await page.getByText("cancelled").first().waitFor({ timeout: 5000 });
  });

  await check("the A/B view drives two avatars from one input and stores a blind vote", async () => {
    await page.getByTestId("ab-strategy").selectOption("emotion_preset");
    await page.getByTestId("ab-view").waitFor({ timeout: 10000 });
    await waitFor("window.__avatarDriver.weight('mouthSmileLeft') > 0.3 && window.__avatarDriver.weightB('mouthSmileLeft') > 0.3", 40000);
    await page.screenshot({ path: join(shots, "05-ab.png") });
    await page.getByTestId("vote-left").click();
    await page.getByTestId("ab-results").getByText(/n=1/).waitFor({ timeout: 10000 });
    const results = await (await fetch(`${base}/v1/ab/results`, auth)).json();
    assert(results.votes === 1 && results.pairs[0].strategies.includes("emotion_preset"), JSON.stringify(results));
    await page.getByTestId("ab-strategy").selectOption("");
    await page.getByTestId("ab-view").waitFor({ state: "detached", timeout: 10000 });
  });

  await check("A/B after toggling Blind: rates at most the output rate, labels clear of the status strip", () => checkAbAfterBlind(page));

  await check("a meshopt-compressed VRoid avatar loads and is driven through its own rig", async () => {
    assert(existsSync(join(avatars, "vroid.glb")), `missing ${avatars}/vroid.glb`);
    // The browser's upload, rig included, against the command line's inspection of the same file.
    // A later upload takes about half the CLI's time (docs/web-viewer.md); this first one also
    // starts the server's tool worker process, and the page draws beside it in software GL: 2×.
    const t0 = Date.now();
    spawnSync(join(repo, ".venv/bin/avatar-driver"), ["rig", "inspect", join(avatars, "vroid.glb"), "--out", join(shots, "vroid-rig.json")]);
    const cliS = (Date.now() - t0) / 1000;
    const uploadS = await checkUploadShowsProgress(page, join(avatars, "vroid.glb"), 2 * cliS);
    console.log(`  upload: ${uploadS.toFixed(1)} s in the browser, ${cliS.toFixed(1)} s for rig inspect`);
    await waitFor("window.__avatarDriver.avatar().morphs > 100", 60000);
    await waitFor("window.__avatarDriver.runtime.client?.welcome?.rig === 'vroid' && window.__avatarDriver.runtime.state === 'open'", 60000);
    await waitFor("window.__avatarDriver.weight('mouthSmileLeft') > 0.3", 60000);
    await page.waitForTimeout(500);
    await page.screenshot({ path: join(shots, "06-vroid.png") });
  });

  await check("VRoid looking up and right keeps its irises in sight", () => checkEyesStayInRange(page));
  await check("VRoid rests with its arms down, not in a T-pose", async () => {
    await waitFor("window.__avatarDriver.runtime.drivers.A?.model.arms?.length === 2", 30000);
    await checkArmsDown(page);
  });

  await check("the default avatar after a custom one brings its own rig back; the session id and its watcher stay", async () => {
    const sid = await hook("window.__avatarDriver.runtime.sessionId");
    const watcher = await browser.newPage({ viewport: { width: 640, height: 480 } });
    await watcher.goto(`${base}/?watch=${sid}#token=${token}`);
    await watcher.waitForFunction("window.__avatarDriver?.runtime.client?.welcome?.rig === 'vroid'", null, { timeout: 20000 });
    await page.getByText("Default avatar").click();
    await waitFor("window.__avatarDriver.runtime.client?.welcome?.rig === 'arkit52' && window.__avatarDriver.runtime.state === 'open'", 30000);
    await waitFor("window.__avatarDriver.avatar().url === '/avatars/default.glb' && window.__avatarDriver.avatar().morphs >= 67", 30000);
    await waitFor("window.__avatarDriver.weight('mouthSmileLeft') > 0.3", 30000);
    assert(await hook("window.__avatarDriver.runtime.sessionId") === sid, "a new avatar made a new session id");
    // The watcher (an OBS source) was told the publisher paused, then welcomed to the new rig.
    await watcher.waitForFunction("window.__avatarDriver.runtime.client.welcome.rig === 'arkit52' && window.__avatarDriver.runtime.state === 'open'",
      null, { timeout: 20000 });
    const before = await watcher.evaluate("window.__avatarDriver.runtime.framesReceived");
    await watcher.waitForFunction(`window.__avatarDriver.runtime.framesReceived > ${before + 30}`, null, { timeout: 20000 });
    await watcher.close();
  });

  await check("a Ready Player Me avatar rests with its arms down; OBS (a fresh profile) draws it; &avatar= overrides; it survives a reload", async () => {
    const other = await launch("face.y4m");  // a browser of its own: the RPM avatar is heavy to draw in software
    try {
      const p = await other.newPage({ viewport: { width: 800, height: 560 } });
      p.on("pageerror", (e) => consoleErrors.push(String(e)));
      await p.goto(`${base}/#token=${token}`);
      await p.getByTestId("start").click();
      await p.waitForFunction("window.__avatarDriver.runtime.state === 'open'", null, { timeout: 30000 });
      await p.getByTestId("avatar-file").setInputFiles(join(avatars, "brunette-t.glb"));
      await p.getByText(/brunette-t\.glb: \d+ channels/).waitFor({ timeout: 60000 });
      await p.waitForFunction("window.__avatarDriver.runtime.drivers.A?.model.arms?.length === 2", null, { timeout: 60000 });
      await checkArmsDown(p);
      await checkOverlayDrawsPublishersAvatar({ browser: other, page: p, base, token, avatars });
    } finally {
      await other.close();
    }
  });

  await check("stop ends capture and the stream at once; a watcher sees the publisher leave and eases to rest", async () => {
    const sid = await hook("window.__avatarDriver.runtime.sessionId");
    const watcher = await browser.newPage({ viewport: { width: 640, height: 480 } });
    await watcher.goto(`${base}/?watch=${sid}#token=${token}`);
    await watcher.waitForFunction("window.__avatarDriver?.weight('mouthSmileLeft') > 0.3", null, { timeout: 30000, polling: 100 });
    await page.getByTestId("stop").click();
    await page.getByTestId("consent").waitFor();
    assert(await hook("window.__avatarDriver.runtime.stream") === null, "media still captured");
    const hud = await page.getByTestId("hud").innerText();
    assert(/delay – ms/.test(hud) && /no stream/.test(hud) && !/speaking/.test(hud), `the HUD still shows the stopped stream: ${hud}`);
    assert(await hook("window.__avatarDriver.runtime.emotion") === null, "emotion bars still filled");
    // A named session (the viewer always names its own): its watchers wait for it to come back.
    await watcher.waitForFunction("window.__avatarDriver.runtime.state === 'paused'", null, { timeout: 10000 });
    const detail = await watcher.evaluate("window.__avatarDriver.runtime.stateDetail");
    assert(/publisher is away/.test(detail), `state detail: ${detail}`);
    await watcher.waitForFunction("window.__avatarDriver.weight('mouthSmileLeft') < 0.05", null, { timeout: 5000, polling: 100 });
    assert(await watcher.evaluate("window.__avatarDriver.runtime.latencyMs") === null, "latency still counted");
    await watcher.close();
  });

  await check("the consent form's choices stay across a reload; consent does not", async () => {
    const name = await page.getByTestId("session-name").inputValue();
    const cameras = await page.getByTestId("camera-device").locator("option").allInnerTexts();
    assert(cameras.length >= 2, `no camera to choose: ${cameras}`);  // Chromium's fake camera, by name after Start
    const camera = await page.getByTestId("camera-device").locator("option").nth(1).getAttribute("value");
    await page.getByTestId("camera-device").selectOption(camera);
    await page.getByTestId("camera-size").selectOption("960");
    await page.getByTestId("camera-fps").selectOption("15");
    await page.reload();
    await page.getByTestId("consent").waitFor();
    assert(await page.locator("label", { hasText: "Microphone" }).locator("input").isChecked(), "the microphone choice was lost");
    const user = await page.locator("label", { hasText: "User id" }).locator("input").inputValue();
    assert(user === "e2e-user", `user id after reload: ${user}`);
    assert(await page.getByTestId("session-name").inputValue() === name, "the stream name changed");
    const kept = [await page.getByTestId("camera-device").inputValue(), await page.getByTestId("camera-size").inputValue(),
      await page.getByTestId("camera-fps").inputValue()];
    assert(JSON.stringify(kept) === JSON.stringify([camera, "960", "15"]), `camera choices after reload: ${kept}`);
    assert(await hook("window.__avatarDriver.runtime.state") === "idle", "connected before consent");
    await page.getByTestId("camera-size").selectOption("640");  // back to what the later checks expect
    await page.getByTestId("camera-fps").selectOption("20");
  });

  for (const [shape, w, h] of [["16:9", 640, 360], ["4:3", 640, 480], ["portrait", 360, 640]]) {
    await check(`a ${shape} camera keeps its shape: a real face at rest keeps its mouth closed`, async () => {
      const other = await launch(`rest-${w}x${h}.y4m`);
      try {
        const p = await other.newPage({ viewport: { width: 800, height: 560 } });
        p.on("pageerror", (e) => consoleErrors.push(String(e)));
        await p.goto(`${base}/#token=${token}`);
        await p.getByTestId("start").click();
        await p.waitForFunction("window.__avatarDriver.runtime.frameSize.width > 0", null, { timeout: 20000 });
        const size = await p.evaluate("window.__avatarDriver.runtime.frameSize");
        assert(Math.abs(size.width / size.height - w / h) < 0.02, `a ${w}x${h} camera sent ${size.width}x${size.height} frames`);
        await p.waitForFunction("window.__avatarDriver.weight('mouthSmileLeft') > 0.5", null, { timeout: 30000, polling: 100 });
        let jaw = 0;
        for (let i = 0; i < 20; i++) {  // 2 s of the face at rest
          jaw = Math.max(jaw, await p.evaluate("window.__avatarDriver.weight('jawOpen')"));
          await p.waitForTimeout(100);
        }
        const transport = await p.evaluate("window.__avatarDriver.runtime.transport");
        console.log(`  ${shape}: ${size.width}x${size.height} frames over ${transport}, jawOpen at most ${jaw.toFixed(3)}`);
        assert(jaw < 0.15, `jawOpen ${jaw.toFixed(2)} with the mouth closed`);
        await p.screenshot({ path: join(shots, `07-camera-${w}x${h}.png`) });
      } finally {
        await other.close();
      }
    });
  }

  await check("the wizard refuses a neutral step that is not at rest, says why, and fails without saving", async () => {
    const other = await launch("rest-640x480.y4m");  // the astronaut smiles all the time
    try {
      const p = await other.newPage({ viewport: { width: 1100, height: 700 } });
      p.on("pageerror", (e) => consoleErrors.push(String(e)));
      await p.goto(`${base}/#token=${token}`);
      await p.locator("label", { hasText: "User id" }).locator("input").fill("e2e-smiler");
      await p.getByTestId("start").click();
      await p.waitForFunction("window.__avatarDriver.runtime.state === 'open'", null, { timeout: 20000 });
      await p.getByText("Start calibration").click();
      await p.getByText("you are smiling").first().waitFor({ timeout: 20000 });
      const progress = await p.getByTestId("wizard").locator(".progress").innerText();
      assert(/step 1 of \d+: neutral/.test(progress), `progress: ${progress}`);
      await p.screenshot({ path: join(shots, "09-wizard-refuses.png") });
      await p.getByTestId("calibration-result").waitFor({ timeout: 30000 });
      const result = await p.getByTestId("calibration-result").innerText();
      assert(/failed: you are smiling/.test(result), `result: ${result}`);
      const stored = await fetch(`${base}/v1/calibration/e2e-smiler`, auth);
      assert(stored.status === 404, `a refused calibration was stored (${stored.status})`);
    } finally {
      await other.close();
    }
  });

  await check("with the microphone alone, speech moves the default avatar's mouth and silence closes it", async () => {
    const other = await launch("face.y4m", "speech.wav");  // speech.wav: a sentence, then 2.5 s of silence, looped
    try {
      const p = await other.newPage({ viewport: { width: 800, height: 560 } });
      p.on("pageerror", (e) => consoleErrors.push(String(e)));
      await p.goto(`${base}/#token=${token}`);
      await p.locator("label", { hasText: "Camera" }).locator("input").uncheck();
      await p.locator("label", { hasText: "Microphone" }).locator("input").check();
      await p.getByTestId("start").click();
      await p.waitForFunction("window.__avatarDriver.runtime.framesReceived > 30", null, { timeout: 20000 });
      // Speaking or not, as the server's voice activity says (emotion_update, 10 Hz). The silence is
      // the longest run without speech (the 2.5 s pause, not a pause between words). The rendered jaw
      // trails the voice activity by the jitter buffer, the smoothing and, on a loaded machine, slow
      // software-GL frames, so "silence closes the mouth" means: within the pause the jaw comes down
      // and stays down for half a second, not that it is shut at the instant the voice stops.
      const samples = [];
      for (let i = 0; i < 160; i++) {  // 8 s: at least one sentence and one pause
        samples.push(await p.evaluate(`({ t: performance.now(), jaw: window.__avatarDriver.weight('jawOpen'),
          speaking: (window.__avatarDriver.runtime.emotion?.speaking_probability ?? 0) >= 0.5 })`));
        await p.waitForTimeout(50);
      }
      const speechJaw = samples.filter((s) => s.speaking).map((s) => s.jaw);
      let run = [], pause = [];
      for (const s of samples) {
        if (s.speaking) { run = []; continue; }
        run.push(s);
        if (run.length > pause.length) pause = run;
      }
      const pauseMs = pause.length ? pause[pause.length - 1].t - pause[0].t : 0;
      let closedMs = 0;  // the longest stretch of the pause with the jaw down
      for (let i = 0, start = null; i < pause.length; i++) {
        if (pause[i].jaw >= 0.1) { start = null; continue; }
        start ??= pause[i].t;
        closedMs = Math.max(closedMs, pause[i].t - start);
      }
      const max = (xs) => xs.reduce((a, b) => Math.max(a, b), 0);
      const profile = pause.map((s) => s.jaw.toFixed(2)).join(" ");
      console.log(`  speech: ${speechJaw.length} samples, jawOpen max ${max(speechJaw).toFixed(2)}; ` +
        `pause: ${pauseMs.toFixed(0)} ms, jaw down for ${closedMs.toFixed(0)} ms of it`);
      assert(speechJaw.length >= 10 && pauseMs >= 1200, "the voice activity never said speech, or never a pause");
      assert(max(speechJaw) > 0.3, `jawOpen at most ${max(speechJaw).toFixed(2)} while speaking`);
      assert(closedMs >= 500, `the jaw never stayed down in the pause: ${profile}`);
      const tracking = await p.getByTestId("tracking").innerText();
      assert(tracking === "voice only", `the HUD says "${tracking}" for a microphone-only session`);
      await p.screenshot({ path: join(shots, "08-microphone-only.png") });
    } finally {
      await other.close();
    }
  });

  await check("speaking while smiling: the voice opens the mouth and the smile stays (hybrid, the default)", async () => {
    const other = await launch("face.y4m", "speech.wav");  // the smiling astronaut (and a cat), a looped sentence
    try {
      const p = await other.newPage({ viewport: { width: 800, height: 560 } });
      p.on("pageerror", (e) => consoleErrors.push(String(e)));
      await p.goto(`${base}/#token=${token}`);
      await p.locator("label", { hasText: "Microphone" }).locator("input").check();
      await p.getByTestId("start").click();
      await p.waitForFunction("window.__avatarDriver.runtime.framesReceived > 30", null, { timeout: 20000 });
      const samples = [];
      for (let i = 0; i < 160; i++) {  // 8 s: the sentence plays more than once over the smiling face
        samples.push(await p.evaluate(`({ smile: window.__avatarDriver.weight('mouthSmileLeft'),
          jaw: window.__avatarDriver.weight('jawOpen'), face: (window.__avatarDriver.runtime.emotion?.faces_seen ?? 0) > 0,
          speaking: (window.__avatarDriver.runtime.emotion?.speaking_probability ?? 0) >= 0.5 })`));
        await p.waitForTimeout(50);
      }
      const talking = samples.filter((x) => x.speaking && x.face);
      const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
      const smile = median(talking.map((x) => x.smile));
      const jaw = talking.reduce((a, x) => Math.max(a, x.jaw), 0);
      console.log(`  smiling talker: ${talking.length} samples, smile median ${smile.toFixed(2)}, jawOpen max ${jaw.toFixed(2)}`);
      assert(talking.length >= 10, "never a tracked face while the voice activity said speech");
      assert(smile >= 0.5, `the smile fell to ${smile.toFixed(2)} while speaking (visemes replaced it)`);
      assert(jaw > 0.2, `jawOpen at most ${jaw.toFixed(2)} while speaking`);
    } finally {
      await other.close();
    }
  });

  await check("a recording uploaded on the speech-emotion page becomes a report with bars and a timeline", async () => {
    const p = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    p.on("pageerror", (e) => consoleErrors.push(String(e)));
    await p.goto(`${base}/#token=${token}`);
    await p.getByTestId("speech-emotion-link").click();
    await p.waitForURL(/speech-emotion\.html/);
    await p.locator("#file").setInputFiles(join(media, "talk.mp3"));
    await p.waitForFunction("document.body.dataset.state === 'done' || document.body.dataset.state === 'failed'",
      null, { timeout: 60000 });
    const status = await p.locator("#status").innerText();
    assert(/done/.test(status), `status: ${status}`);
    const report = p.frameLocator("#report");
    const utterances = await report.locator("rect.utterance").count();
    const classes = await report.locator("rect.utterance").evaluateAll((rs) => rs.map((r) => r.dataset.class));
    assert(utterances === 12, `${utterances} utterances in the timeline`);
    assert(classes.join(",") === "low,low,low,high,high,high,low,low,low,high,high,high", `classes: ${classes}`);
    assert(await report.locator("polyline.arousal").count() >= 1, "no arousal curve");
    const json = await p.locator("#download-json").getAttribute("href");
    assert(json?.startsWith("blob:"), "no JSON download");
    await p.screenshot({ path: join(shots, "10-speech-emotion.png"), fullPage: true });
    await p.close();
  });

  await check("after the server is killed and restarted, publishers on both transports and their watchers are live again within 10 s", async () => {
    const pages = [];
    const open = async (url) => {
      const p = await browser.newPage({ viewport: { width: 480, height: 360 } });
      p.on("pageerror", (e) => consoleErrors.push(String(e)));
      pages.push(p);
      await p.goto(url);
      return p;
    };
    const live = "window.__avatarDriver.runtime.state === 'open' && window.__avatarDriver.runtime.framesReceived > ";
    const frames = (p) => p.evaluate("window.__avatarDriver.runtime.framesReceived");
    try {
      const streams = [];
      for (const transport of ["webrtc", "websocket"]) {
        const name = `restart-${transport}-${Math.random().toString(36).slice(2, 8)}`;
        const publisher = await open(`${base}/#token=${token}`);
        await publisher.getByTestId("transport").selectOption(transport);
        await publisher.getByTestId("session-name").fill(name);
        await publisher.getByTestId("start").click();
        await publisher.waitForFunction(`${live}20`, null, { timeout: 30000 });
        assert(await publisher.evaluate("window.__avatarDriver.runtime.transport") === transport, `not on ${transport}`);
        const watcher = await open(`${base}/?watch=${name}#token=${token}`);
        await watcher.waitForFunction(`${live}20`, null, { timeout: 30000 });
        streams.push({ transport, publisher, watcher });
      }
      // SIGKILL: the server says nothing (WebRTC's data channels go silent; ICE would call it failed
      // after ~17 s). SIGTERM: it closes every connection on its way out, the peers' channels too.
      for (const signal of ["SIGKILL", "SIGTERM"]) {
        const exited = new Promise((r) => server.once("exit", r));
        server.kill(signal);
        await exited;
        const before = await Promise.all(streams.flatMap((s) => [frames(s.publisher), frames(s.watcher)]));
        for (const { publisher } of streams)  // lost, never ended: the camera and the indicator stay on
          await publisher.waitForFunction("window.__avatarDriver.runtime.state === 'reconnecting'", null, { timeout: 10000 });
        server = startServer();
        await serverUp();
        const up = Date.now();
        const opened = streams.flatMap((s) => [s.publisher, s.watcher]).map((p) =>  // for the log: when each said open
          p.waitForFunction("window.__avatarDriver.runtime.state === 'open'", null, { timeout: 30000, polling: 100 })
            .then(() => ((Date.now() - up) / 1000).toFixed(1), () => "–"));
        let i = 0;
        for (const { transport, publisher, watcher } of streams) {
          for (const [who, p] of [["publisher", publisher], ["watcher", watcher]]) {
            const left = Math.max(1, 10000 - (Date.now() - up));
            try {
              await p.waitForFunction(`${live}${before[i++] + 20}`, null, { timeout: left, polling: 100 });
            } catch {
              const [state, detail] = await p.evaluate("[window.__avatarDriver.runtime.state, window.__avatarDriver.runtime.stateDetail]");
              const late = await p.waitForFunction(`${live}${before[i - 1] + 20}`, null, { timeout: 20000, polling: 100 })
                .then(() => `live after ${((Date.now() - up) / 1000).toFixed(1)} s`, () => "not live after 30 s either");
              throw new Error(`after ${signal}, the ${transport} ${who} is not live again within 10 s (${state} ${detail}; ${late})`);
            }
          }
          assert(await publisher.evaluate("window.__avatarDriver.runtime.transport") === transport, `${transport} came back on another transport`);
          assert(await publisher.getByTestId("recording").count() === 1, "the capture indicator went off");
        }
        console.log(`  after ${signal}: all live again ${((Date.now() - up) / 1000).toFixed(1)} s after the server was `
          + `(open after ${(await Promise.all(opened)).join(", ")} s: WebRTC publisher, watcher, WebSocket publisher, watcher)`);
      }
      // A session that ends (taken over by another tab under the same name) stops capture and the indicator.
      const { publisher } = streams[0];
      const name = await publisher.evaluate("window.__avatarDriver.runtime.sessionId");  // a named session's id is its name
      const taker = await open(`${base}/#token=${token}`);
      await taker.getByTestId("session-name").fill(name);
      await taker.getByTestId("start").click();
      await taker.waitForFunction(`${live}5`, null, { timeout: 30000 });
      await publisher.getByTestId("consent").waitFor({ timeout: 10000 });
      assert(await publisher.evaluate("window.__avatarDriver.runtime.stream") === null, "the camera is still captured");
      assert(/ended/.test(await publisher.getByTestId("hud").innerText()), "the HUD does not say the session ended");
      await publisher.waitForTimeout(3000);
      assert(await taker.evaluate("window.__avatarDriver.runtime.state") === "open", "the ended tab took its name back");
    } finally {
      for (const p of pages) await p.close();
    }
  });

  await check("no errors in the browser console", async () => {
    const real = consoleErrors.filter((e) => !/favicon/.test(e));
    assert(real.length === 0, real.slice(0, 3).join(" | "));
  });
} finally {
  await browser.close();
  server.kill("SIGTERM");
  rmSync(media, { recursive: true, force: true });
}
const passed = results.filter(([, ok]) => ok).length;
console.log(`${passed} passed, ${results.length - passed} failed`);
process.exit(results.length === passed ? 0 : 1);
