import { Leva, useControls } from "leva";
import { useEffect, useReducer, useRef, useState } from "react";
import { api } from "./connection/auth";
import { WebRtcClient } from "./connection/webrtcClient";
import { DEFAULT_STRATEGY, MessageType } from "./generated/protocol";
import { AVATAR_OVERRIDE, OVERLAY, watchedAvatarUrl } from "./overlay";
import { FRAME_RATES, LONG_SIDES, newSessionName, recall, remember, SESSION_NAME, storedAvatarUrl, TRANSPORTS } from "./persistedSettings";
import { listDevices, type Devices } from "./capture/devices";
import { runtime, type SessionSettings } from "./runtime";
import type { AvatarModel } from "./scene/avatarModel";
import { AvatarView, defaultQuality, type RenderQuality } from "./scene/AvatarView";
import { describeUpload, uploadAvatar, type UploadedRig } from "./scene/avatarUpload";
import { ABControls, ABView } from "./ui/ABView";
import { ChannelPanel, Hud } from "./ui/Hud";
import { Wizard } from "./ui/Wizard";

const DEFAULT_AVATAR = "/avatars/default.glb";
const DEFAULT_SETTINGS: SessionSettings = {
  camera: true, microphone: false, rig: "arkit52", strategy: DEFAULT_STRATEGY, format: "packed", userId: "", fps: 20, mirror: true,
  longSide: 640, cameraId: "", microphoneId: "", sessionName: newSessionName(), transport: "auto",
};
const remembered = recall(localStorage, DEFAULT_SETTINGS);
const watchId = new URLSearchParams(location.search).get("watch");
const DEFAULT_QUALITY = defaultQuality();

declare global {
  interface Window {
    __avatarDriver: Record<string, unknown>;
  }
}

export function App() {
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const video = useRef<HTMLVideoElement>(null);
  const [avatarUrl, setAvatarUrl] = useState(remembered.avatarUrl ?? DEFAULT_AVATAR);
  const [avatarInfo, setAvatarInfo] = useState("");
  const [avatarName, setAvatarName] = useState(remembered.avatarUrl ? remembered.settings.rig : "default head");
  // What a reload loads again: the avatar's URL, or for a file the copy the server keeps with its rig.
  const [keptAvatarUrl, setKeptAvatarUrl] = useState(avatarUrl);
  const [urlInput, setUrlInput] = useState("");
  const [strategies, setStrategies] = useState<string[]>([DEFAULT_STRATEGY]);
  const [settings, setSettings] = useState<SessionSettings>(remembered.settings);
  useEffect(() => remember(localStorage, settings, keptAvatarUrl), [settings, keptAvatarUrl]);
  const [consented, setConsented] = useState(false);
  const [devices, setDevices] = useState<Devices>({ cameras: [], microphones: [] });
  useEffect(() => {
    const update = () => void listDevices().then(setDevices);
    update();
    navigator.mediaDevices?.addEventListener("devicechange", update);
    return () => navigator.mediaDevices?.removeEventListener("devicechange", update);
  }, []);
  const [compare, setCompare] = useState<string | null>(null);
  const [blind, setBlind] = useState(true);
  const tuning = useControls("playback", {
    jitter_delay_ms: { value: 60, min: 0, max: 300, step: 5, label: "buffer (ms)", hint: "how far behind the stream plays, to absorb network jitter" },
    smoothing_ms: { value: 30, min: 0, max: 200, step: 5, label: "smoothing (ms)", hint: "how long the avatar takes to follow a change" },
    render_quality: { value: DEFAULT_QUALITY, options: ["high", "low"], label: "render quality",
      hint: "low: one pixel per CSS pixel and plain lights, for slow machines" },
  });

  useEffect(() => {
    runtime.listeners.add(rerender);
    const timer = setInterval(rerender, 250); // HUD numbers
    api("/v1/strategies").then((r) => r.json()).then((s) => setStrategies(s.map((x: { name: string }) => x.name)))
      .catch(() => undefined);
    // A watcher of a name (every stream this viewer publishes is named) waits for it: through a
    // server restart, a publisher that is away, or one that has not started yet (docs/web-viewer.md).
    if (watchId) runtime.watch(watchId, true);
    window.__avatarDriver = {
      runtime,
      weight: (name: string) => runtime.drivers.A?.weight(name) ?? 0,
      weightB: (name: string) => runtime.drivers.B?.weight(name) ?? 0,
      avatar: () => avatarState,
    };
    return () => {
      runtime.listeners.delete(rerender);
      clearInterval(timer);
    };
  }, []);

  const quality = tuning.render_quality as RenderQuality;
  useEffect(() => {
    for (const b of Object.values(runtime.buffers)) (b.options as { delayMs: number }).delayMs = tuning.jitter_delay_ms;
    for (const d of Object.values(runtime.drivers)) if (d) d.options = { ...d.options, weightTauS: tuning.smoothing_ms / 1000 };
  }, [tuning]);

  const starting = useRef(false);
  const start = async (s = settings) => {
    setConsented(true);
    runtime.calibrationEvents = [];
    starting.current = true;
    try {
      await runtime.start(s, video.current!);
      setDevices(await listDevices()); // names are readable once access was granted
      if (runtime.client === null) ended(runtime.lastError ?? "WebRTC refused"); // WebRTC asked for and refused
    } catch (e) {
      runtime.lastError = `camera/microphone unavailable: ${(e as Error).message}`;
      setConsented(false);
    } finally {
      starting.current = false;
    }
  };
  const stop = () => {
    runtime.stop();
    setConsented(false);
    setCompare(null);
  };
  /** As Stop, but "ended: why" stays in the HUD. */
  const ended = (detail = runtime.stateDetail) => {
    stop();
    [runtime.state, runtime.stateDetail] = ["closed", detail];
    runtime.notify();
  };
  // A publisher's session that ended (refused, taken over, ended by the server, WebRTC that would
  // not come back on a forced transport) stops the camera, the microphone and the red indicator.
  // WebRTC that would not come back while the server is there goes on over the WebSocket (auto).
  useEffect(() => {
    if (!consented || starting.current || runtime.state !== "closed") return;
    if (runtime.client instanceof WebRtcClient && runtime.client.fallBack && settings.transport === "auto") {
      runtime.lastError = `WebRTC: ${runtime.stateDetail}; going on over the WebSocket`;
      void start({ ...settings, transport: "websocket" });
    } else ended();
  });

  /** A user's avatar: its rig built by the server (with progress), then drawn, so that the
   * upload and the drawing do not fight for the CPU; the session switches to the new rig. */
  const useAvatar = async (url: string, file: Blob, filename: string) => {
    setAvatarName(filename);
    let rig: UploadedRig;
    try {
      // With a user id the avatar is theirs: erasing the user removes it (DELETE /v1/users/{id}).
      rig = await uploadAvatar(file, filename, (p) => setAvatarInfo(describeUpload(p)),
        { replace: "true", ...(settings.userId ? { user_id: settings.userId } : {}) });
    } catch (e) {
      setAvatarInfo(`the server could not read ${filename}: ${(e as Error).message}`);
      return;
    }
    setAvatarUrl(url);
    setKeptAvatarUrl(url.startsWith("blob:") ? storedAvatarUrl(rig.id) : url);
    const report = rig.report;
    setAvatarInfo(`${filename}: ${rig.channels.length} channels, ARKit ${report.arkit.working}/52, visemes ${report.visemes.working}/15`);
    const next = { ...settings, rig: rig.id };
    setSettings(next);
    if (consented) await start(next);
  };
  /** Back to the built-in head: its rig too, and a running session switches with it. */
  const useDefaultAvatar = async () => {
    setAvatarUrl(DEFAULT_AVATAR);
    setKeptAvatarUrl(DEFAULT_AVATAR);
    setAvatarName("default head");
    setAvatarInfo("");
    const next = { ...settings, rig: "arkit52" };
    setSettings(next);
    if (consented) await start(next);
  };
  const onFile = (file: File | undefined) => file && void useAvatar(URL.createObjectURL(file), file, file.name);
  const onUrl = async () => {
    const blob = await (await fetch(urlInput)).blob();
    await useAvatar(urlInput, blob, urlInput.split("/").pop() || "avatar.glb");
  };
  const onLoaded = (m: AvatarModel) => {
    avatarState = { url: shownUrl, morphs: m.morphs.size, bones: [...m.bones.keys()], vrm: Boolean(m.vrm) };
    rerender();
  };

  // A watcher and the OBS overlay draw the publisher's avatar (the welcome's avatar_url) or
  // `&avatar=URL`; a publisher draws its own.
  const shownUrl = watchId ? watchedAvatarUrl(AVATAR_OVERRIDE, runtime.welcomeAvatarUrl, DEFAULT_AVATAR) : avatarUrl;
  /** A remembered avatar the server no longer keeps (its rig erased): back to the default head. */
  const avatarFailed = (message: string) => {
    runtime.lastError = message;
    if (!watchId && avatarUrl.startsWith("/v1/rigs/")) void useDefaultAvatar();
    else rerender();
  };

  if (OVERLAY.enabled) {
    return (
      <div className="overlay" data-testid="overlay">
        <AvatarView url={shownUrl} onLoaded={onLoaded} onError={(m) => console.warn(m)} background={OVERLAY.background}
          quality={DEFAULT_QUALITY} />
        <Leva hidden />
      </div>
    );
  }

  return (
    <div className="app" onDragOver={(e) => e.preventDefault()} onDrop={(e) => { e.preventDefault(); onFile(e.dataTransfer.files[0]); }}>
      <aside>
        <h1>avatar-driver</h1>
        {watchId ? <p>Watching session <code>{watchId}</code>.</p> : !consented ? (
          <section className="consent" data-testid="consent">
            <h3>Before we start</h3>
            <p>Your camera (and, if you allow it, your microphone) is sent to this server only, analysed in
              memory to drive the avatar, and never recorded or written to disk. Nothing is sent until you press
              Start; Stop ends it at once.</p>
            <label><input type="checkbox" checked={settings.camera} onChange={(e) => setSettings({ ...settings, camera: e.target.checked })} /> Camera</label>
            {settings.camera && <div className="device">
              <select value={settings.cameraId} data-testid="camera-device" onChange={(e) => setSettings({ ...settings, cameraId: e.target.value })}>
                <option value="">default camera</option>
                {devices.cameras.map((d) => <option key={d.id} value={d.id}>{d.label}</option>)}</select>
              <select value={settings.longSide} data-testid="camera-size" title="the frame's long side; its shape stays the camera's"
                onChange={(e) => setSettings({ ...settings, longSide: Number(e.target.value) })}>
                {LONG_SIDES.map((n) => <option key={n} value={n}>{n} px</option>)}</select>
              <select value={settings.fps} data-testid="camera-fps" onChange={(e) => setSettings({ ...settings, fps: Number(e.target.value) })}>
                {FRAME_RATES.map((n) => <option key={n} value={n}>{n} fps</option>)}</select>
              <select value={settings.transport} data-testid="transport"
                title="auto: WebRTC (media tracks), the WebSocket when WebRTC does not come up within a few seconds"
                onChange={(e) => setSettings({ ...settings, transport: e.target.value as typeof settings.transport })}>
                {TRANSPORTS.map((t) => <option key={t} value={t}>{t === "auto" ? "auto (WebRTC, else WebSocket)" : t === "webrtc" ? "WebRTC" : "WebSocket"}</option>)}</select>
            </div>}
            <label><input type="checkbox" checked={settings.microphone} onChange={(e) => setSettings({ ...settings, microphone: e.target.checked })} /> Microphone</label>
            {/* Unticked until asked for (the voice is the more private of the two); say what it gives. */}
            <p className={`hint ${settings.microphone ? "muted" : ""}`} data-testid="microphone-hint">
              {settings.microphone ? "Lip-sync and voice emotion use it." : "Lip-sync (the mouth following your words) needs the microphone: tick it to let the avatar speak with you."}</p>
            {settings.microphone && <div className="device">
              <select value={settings.microphoneId} data-testid="microphone-device" onChange={(e) => setSettings({ ...settings, microphoneId: e.target.value })}>
                <option value="">default microphone</option>
                {devices.microphones.map((d) => <option key={d.id} value={d.id}>{d.label}</option>)}</select>
            </div>}
            <label>User id (for calibration) <input value={settings.userId} placeholder="optional" onChange={(e) => setSettings({ ...settings, userId: e.target.value })} /></label>
            <label title="Watchers and OBS use this name; it stays the same across avatars and reloads">Stream name
              <input value={settings.sessionName} data-testid="session-name" className={SESSION_NAME.test(settings.sessionName) ? "" : "invalid"}
                onChange={(e) => setSettings({ ...settings, sessionName: e.target.value })} /></label>
            {!SESSION_NAME.test(settings.sessionName) && <p className="error">8 to 64 letters, digits, - or _</p>}
            <label>Strategy <select value={settings.strategy} onChange={(e) => setSettings({ ...settings, strategy: e.target.value })}>
              {strategies.map((s) => <option key={s}>{s}</option>)}</select></label>
            <label><input type="checkbox" checked={settings.mirror} onChange={(e) => setSettings({ ...settings, mirror: e.target.checked })} /> Mirror</label>
            <button className="primary" data-testid="start" disabled={(!settings.camera && !settings.microphone) || !SESSION_NAME.test(settings.sessionName)} onClick={() => void start()}>I agree — Start</button>
          </section>
        ) : (
          <section>
            <div className="recording" data-testid="recording">● {settings.camera ? "camera" : ""}{settings.camera && settings.microphone ? " + " : ""}{settings.microphone ? "microphone" : ""} on</div>
            <button className="stop" data-testid="stop" onClick={stop}>Stop</button>
            <label>Strategy <select value={(runtime.configured?.strategy as string) ?? settings.strategy}
              onChange={(e) => runtime.send(MessageType.Configure, { strategy: e.target.value })}>
              {strategies.map((s) => <option key={s}>{s}</option>)}</select></label>
          </section>
        )}
        <video ref={video} className="preview" muted playsInline style={{ display: consented && settings.camera ? "block" : "none" }} />
        <section className="avatar-picker">
          <h3>Avatar</h3>
          <input type="file" accept=".glb,.gltf,.vrm" data-testid="avatar-file" onChange={(e) => onFile(e.target.files?.[0])} />
          <div className="url"><input placeholder="https://…/avatar.vrm" value={urlInput} onChange={(e) => setUrlInput(e.target.value)} />
            <button onClick={() => void onUrl()} disabled={!urlInput}>Load</button></div>
          <button onClick={() => void useDefaultAvatar()}>Default avatar</button>
          <p className="avatar-name" data-testid="avatar-name">{avatarName}</p>
          <p className="muted">or drop a GLB/VRM anywhere. {avatarInfo}</p>
        </section>
        {consented && <ABControls strategies={strategies} blind={blind} setBlind={setBlind} compare={compare} setCompare={setCompare} />}
        {consented && settings.camera && <Wizard userId={settings.userId} />}
        <p className="muted"><a href="/speech-emotion.html" data-testid="speech-emotion-link">Speech emotion of a recording →</a></p>
      </aside>
      <main>
        {compare && consented
          ? <ABView url={avatarUrl} blind={blind} quality={quality} onError={(m) => { runtime.lastError = m; rerender(); }} />
          : <AvatarView url={shownUrl} onLoaded={onLoaded} quality={quality} onError={avatarFailed} />}
        <Hud quality={quality} />
        <ChannelPanel />
      </main>
      <Leva collapsed theme={{ sizes: { rootWidth: "300px", controlWidth: "130px" } }} />
    </div>
  );
}

let avatarState: Record<string, unknown> = {};
