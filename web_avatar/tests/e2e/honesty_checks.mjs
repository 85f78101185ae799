// Issue 25 items 8 and 9 (viewer), as checks run.mjs calls with its page: the status strip is honest
// on a slow machine (software rendering said, the delay shown not below the delay measured from the
// camera frame the user sees to the avatar frame drawn), the consent form and the sidebar fit, and
// A/B's rates stay at most the output rate after toggling Blind with its labels clear of the status
// strip. Each function throws an Error saying what went wrong.

const fail = (message) => { throw new Error(message); };

/** On the consent form: no select cut ("defa", "20 f"), the file input inside the sidebar, and the
 * microphone box says lip-sync needs it. */
export async function checkConsentLayout(page) {
  await page.getByTestId("consent").waitFor();
  const r = await page.evaluate(() => {
    const measure = document.createElement("canvas").getContext("2d");
    const cut = [];
    for (const s of document.querySelectorAll("[data-testid=consent] select")) {
      const css = getComputedStyle(s);
      measure.font = css.font;
      const text = s.options[s.selectedIndex]?.text ?? "";
      // The text, the padding and the drop-down arrow (about 16 px) must fit the box.
      const need = measure.measureText(text).width + parseFloat(css.paddingLeft) + parseFloat(css.paddingRight) + 16;
      if (s.scrollWidth > s.clientWidth || need > s.clientWidth + 0.5) cut.push(`${text}: needs ${need.toFixed(0)} px, has ${s.clientWidth}`);
    }
    const aside = document.querySelector("aside").getBoundingClientRect();
    const pad = parseFloat(getComputedStyle(document.querySelector("aside")).paddingRight);
    const file = document.querySelector("[data-testid=avatar-file]").getBoundingClientRect();
    return { cut, aside: [aside.left, aside.right - pad], file: [file.left, file.right],
      hint: document.querySelector("[data-testid=microphone-hint]")?.innerText ?? "" };
  });
  if (r.cut.length) fail(`consent selects cut: ${r.cut.join("; ")}`);
  if (r.file[0] < r.aside[0] - 0.5 || r.file[1] > r.aside[1] + 0.5)
    fail(`the file input (${r.file.map(Math.round)}) spills out of the sidebar (${r.aside.map(Math.round)})`);
  if (!/lip-sync/i.test(r.hint)) fail(`nothing next to the microphone box says lip-sync needs it: "${r.hint}"`);
}

/** A live publisher showing the fake camera (1.5 s of a cat, then the smiling astronaut, looped):
 * the status strip says rendering is in software (the test's Chromium draws with SwiftShader), and
 * the delay it shows is not far below the lag measured in the page: from the first preview frame
 * that shows the face (requestVideoFrameCallback, when it was presented) to the first animation
 * frame after the avatar's smile rose above 0.3 (when that frame is on screen). */
export async function checkDelayIsHonest(page, { cycles = 2, timeoutMs = 25000 } = {}) {
  const soft = await page.getByTestId("software-rendering").innerText({ timeout: 5000 }).catch(() => "");
  if (!/software/.test(soft) || !/SwiftShader/.test(soft)) fail(`the status strip does not say rendering is in software: "${soft}"`);
  if (!/drawn at \d+ fps/.test(soft) || !/render quality/.test(soft)) fail(`no drawn fps or quality advice: "${soft}"`);
  const runs = await page.evaluate(({ cycles, timeoutMs }) => new Promise((done) => {
    const video = document.querySelector("video.preview");
    const rt = window.__avatarDriver.runtime;
    const smile = () => window.__avatarDriver.weight("mouthSmileLeft");
    const small = Object.assign(document.createElement("canvas"), { width: 32, height: 24 }).getContext("2d", { willReadFrequently: true });
    let cat = null, previous = null, still = 0, faceAt = null, seenCat = false, risen = null, shownAfter = [], lowSeen = false;
    const runs = [];
    const started = performance.now();
    const finish = () => done(runs);
    const onVideo = (_, m) => {
      small.drawImage(video, 0, 0, 32, 24);
      const px = small.getImageData(0, 0, 32, 24).data;
      const diff = (a, b) => { let d = 0; for (let i = 0; i < a.length; i += 4) d += Math.abs(a[i] - b[i]) + Math.abs(a[i + 1] - b[i + 1]); return d / (a.length / 4); };
      if (previous) still = diff(px, previous) < 1 ? still + 1 : 0;
      previous = px;
      if (!cat && still >= 8) cat = px.slice();  // the cat is a still picture; the astronaut moves
      const isCat = cat && diff(px, cat) < 6;
      if (isCat) { seenCat = true; if (risen === null) [faceAt, lowSeen] = [null, false]; }
      else if (cat && seenCat && faceAt === null) faceAt = performance.timeOrigin + m.presentationTime;
      if (runs.length < cycles && performance.now() - started < timeoutMs) video.requestVideoFrameCallback(onVideo);
    };
    video.requestVideoFrameCallback(onVideo);
    let pendingRise = false;
    const onFrame = () => {
      const now = Date.now();
      if (pendingRise) {  // the frame that drew the risen smile is on screen now
        risen = now;
        pendingRise = false;
      } else if (faceAt !== null && risen === null) {
        // A rise answers this face only after the smile was down (a long lag carries the last face's smile over).
        if (smile() < 0.1) lowSeen = true;
        else if (lowSeen && smile() > 0.3) pendingRise = true;
      }
      if (risen !== null) {
        if (rt.latencyMs !== null) shownAfter.push(rt.latencyMs);
        if (now - risen > 1000) {
          shownAfter.sort((a, b) => a - b);
          runs.push({ lagMs: risen - faceAt, shownMs: shownAfter[Math.floor(shownAfter.length / 2)] ?? null,
            drawnFps: rt.renderFps, transport: rt.transport });
          [faceAt, risen, shownAfter, seenCat, lowSeen] = [null, null, [], false, false];
        }
      }
      if (runs.length >= cycles || performance.now() - started > timeoutMs) return finish();
      requestAnimationFrame(onFrame);
    };
    requestAnimationFrame(onFrame);
  }), { cycles, timeoutMs });
  console.log(`  delay: ${runs.map((r) => `lag ${r.lagMs} ms, shown ${r.shownMs} ms, drawn ${r.drawnFps} fps (${r.transport})`).join("; ")}`);
  if (!runs.length) fail(`no cat-to-face change seen and answered by a smile within ${timeoutMs / 1000} s`);
  for (const r of runs) {
    if (r.shownMs === null) fail(`no delay shown while the smiling face was drawn (lag ${r.lagMs} ms)`);
    // The lag measured includes the smile's rise (smoothing, detection): the delay shown must not be far below it.
    if (r.shownMs < 0.6 * r.lagMs - 150) fail(`the status strip shows ${r.shownMs} ms for a lag of ${r.lagMs} ms`);
  }
}

/** A/B on (B: emotion_preset), Blind toggled off and on: the HUD's per-stream rates stay at most the
 * output rate (60 Hz: the hello's rate_hz), and the Left/Right labels are not under the status strip. */
export async function checkAbAfterBlind(page, { outputHz = 60 } = {}) {
  await page.getByTestId("ab-strategy").selectOption("emotion_preset");
  await page.getByTestId("ab-view").waitFor({ timeout: 10000 });
  try {
    const blind = page.locator("label", { hasText: "Blind" }).locator("input");
    for (let i = 0; i < 2; i++) {
      await blind.click();
      await page.waitForTimeout(300);
    }
    await page.waitForFunction("window.__avatarDriver.runtime.outputHzByVariant.B > 0", null, { timeout: 15000 });
    let worst = { A: 0, B: 0 };
    for (let i = 0; i < 12; i++) {  // 3 s: the frames queued while the two canvases mounted arrive meanwhile
      const hud = await page.getByTestId("hud").innerText();
      const m = /A (\d+) Hz · B (\d+) Hz/.exec(hud);
      if (m) worst = { A: Math.max(worst.A, Number(m[1])), B: Math.max(worst.B, Number(m[2])) };
      await page.waitForTimeout(250);
    }
    if (worst.A > outputHz + 1 || worst.B > outputHz + 1) fail(`after toggling Blind the HUD showed A ${worst.A} Hz, B ${worst.B} Hz (output ${outputHz} Hz)`);
    const boxes = await page.evaluate(() => {
      const box = (el) => { const r = el.getBoundingClientRect(); return { l: r.left, r: r.right, t: r.top, b: r.bottom }; };
      return { hud: box(document.querySelector("[data-testid=hud]")),
        labels: [...document.querySelectorAll("[data-testid^=ab-label-]")].map((el) => ({ text: el.innerText, ...box(el) })) };
    });
    if (boxes.labels.length !== 2) fail(`${boxes.labels.length} A/B labels`);
    const h = boxes.hud;
    for (const l of boxes.labels)
      if (l.l < h.r && l.r > h.l && l.t < h.b && l.b > h.t) fail(`the status strip covers the "${l.text}" label`);
  } finally {
    await page.getByTestId("ab-strategy").selectOption("");
    await page.getByTestId("ab-view").waitFor({ state: "detached", timeout: 10000 });
  }
}
