// Issue 25 item 2, as a check run.mjs calls: OBS drew the built-in head, never the publisher's
// avatar (an uploaded file stayed in the uploader's browser). Now the server keeps the file with
// its rig and the welcome names it (`avatar_url`): an overlay opened in a fresh browser profile
// draws the publisher's Ready Player Me avatar; `&avatar=URL` overrides it; a file-loaded avatar
// survives a reload of the publisher's page. Throws an Error saying what went wrong.

const fail = (message) => { throw new Error(message); };

const waitIn = async (page, expr, what, timeout = 60000) => {
  try {
    await page.waitForFunction(expr, null, { timeout, polling: 200 });
  } catch {
    fail(`${what}: not true within ${timeout / 1000} s: ${expr}`);
  }
};

/** `page`: the publisher's page, its session open (on the default avatar: it is back on it after). */
export async function checkOverlayDrawsPublishersAvatar({ browser, page, base, token, avatars }) {
  const rpm = `${avatars}/brunette-t.glb`;
  await page.getByTestId("avatar-file").setInputFiles(rpm);
  await page.getByText(/brunette-t\.glb: \d+ channels/).waitFor({ timeout: 60000 });
  await waitIn(page, "window.__avatarDriver.runtime.client?.welcome?.rig === 'brunette-t' && window.__avatarDriver.runtime.state === 'open'",
    "the publisher's session on the RPM rig");
  const welcomeUrl = await page.evaluate("window.__avatarDriver.runtime.client.welcome.avatar_url");
  if (!/^\/v1\/rigs\/brunette-t\/avatar\?v=[0-9a-f]{16}$/.test(String(welcomeUrl))) fail(`the welcome names no avatar: ${welcomeUrl}`);
  const published = await page.evaluate("window.__avatarDriver.avatar()");
  const sid = await page.evaluate("window.__avatarDriver.runtime.sessionId");

  const fresh = await browser.newContext({ viewport: { width: 640, height: 480 } });  // a new profile: nothing stored
  try {
    const overlay = await fresh.newPage();
    await overlay.goto(`${base}/?overlay=1&watch=${sid}#token=${token}`);
    await waitIn(overlay, `window.__avatarDriver?.avatar().url === ${JSON.stringify(welcomeUrl)}`, "the overlay loading the publisher's avatar");
    const drawn = await overlay.evaluate("window.__avatarDriver.avatar()");
    if (drawn.morphs !== published.morphs || JSON.stringify(drawn.bones) !== JSON.stringify(published.bones))
      fail(`the overlay drew another avatar: ${JSON.stringify(drawn)} (the publisher's: ${JSON.stringify(published)})`);
    const before = await overlay.evaluate("window.__avatarDriver.runtime.framesReceived");
    await waitIn(overlay, `window.__avatarDriver.runtime.framesReceived > ${before + 30}`, "frames reaching the overlay", 20000);

    const chosen = await fresh.newPage();  // `&avatar=` wins over the welcome's
    await chosen.goto(`${base}/?overlay=1&watch=${sid}&avatar=${encodeURIComponent("/avatars/default.glb")}#token=${token}`);
    await waitIn(chosen, "window.__avatarDriver?.avatar().url === '/avatars/default.glb' && window.__avatarDriver.avatar().morphs >= 67",
      "the overlay drawing the &avatar= URL");
    await waitIn(chosen, "window.__avatarDriver.runtime.welcomeAvatarUrl !== null", "the overlay's welcome", 20000);
    if ((await chosen.evaluate("window.__avatarDriver.avatar().url")) !== "/avatars/default.glb") fail("the welcome overrode &avatar=");

    // A file-loaded avatar survives a reload: the page loads the server's copy of it.
    const publisher = await fresh.newPage();
    await publisher.goto(`${base}/#token=${token}`);
    await publisher.getByTestId("avatar-file").setInputFiles(rpm);
    await publisher.getByText(/brunette-t\.glb: \d+ channels/).waitFor({ timeout: 60000 });
    await publisher.reload();
    await waitIn(publisher, "window.__avatarDriver?.avatar().url === '/v1/rigs/brunette-t/avatar'", "the reloaded page's avatar");
    const reloaded = await publisher.evaluate("window.__avatarDriver.avatar()");
    if (reloaded.morphs !== published.morphs) fail(`after a reload: ${JSON.stringify(reloaded)}`);
  } finally {
    await fresh.close();
  }
  await page.getByText("Default avatar").click();
  await waitIn(page, "window.__avatarDriver.runtime.client?.welcome?.rig === 'arkit52' && window.__avatarDriver.runtime.state === 'open'",
    "the publisher back on the default avatar", 30000);
}
