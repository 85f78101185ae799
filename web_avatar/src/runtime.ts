// The live state shared by the connection, the capture and the render loop. Mutable on
// purpose: the render loop reads it 60 times a second without React re-rendering.
import { MessageType } from "./generated/protocol";
import { serverToken } from "./connection/auth";
import { AvatarClient, serverUrl, type ConnectionState } from "./connection/client";
import { OfferRefused, WebRtcClient, type WebRtcStats } from "./connection/webrtcClient";
import { CameraCapture } from "./capture/camera";
import { MicrophoneCapture } from "./capture/microphone";
import { JitterBuffer, poseFromPayload } from "./driving/jitterBuffer";
import { DrawMeter } from "./driving/drawMeter";
import { StreamRate } from "./driving/streamRate";
import type { AvatarDriver } from "./driving/applyPose";
import { epochMs, type Envelope, type Payload } from "./protocol/codec";
import { SESSION_NAME } from "./persistedSettings";

export interface SessionSettings {
  camera: boolean;
  microphone: boolean;
  rig: string;
  strategy: string;
  format: "named" | "packed";
  userId: string;
  fps: number;
  /** The camera frame's long side in pixels (its shape is kept): 480, 640 or 960. */
  longSide: number;
  /** Chosen devices ("" for the browser's default). */
  cameraId: string;
  microphoneId: string;
  mirror: boolean;
  /** hello.session_name: the stable id watchers and OBS use across reconnects and avatars ("" for none). */
  sessionName: string;
  /** How media reaches the server: "auto" tries WebRTC and falls back to the WebSocket. */
  transport: TransportChoice;
}

export type TransportChoice = "auto" | "webrtc" | "websocket";
/** How long an automatic WebRTC attempt may take to bring a welcome before the WebSocket is used. */
const WEBRTC_WELCOME_MS = 4000;

export type Variant = "A" | "B";

export class Runtime {
  client: AvatarClient | WebRtcClient | null = null;
  /** The transport the session runs on, once connected. */
  transport: "webrtc" | "websocket" | null = null;
  rtcStats: WebRtcStats | null = null;
  private statsTimer: ReturnType<typeof setInterval> | null = null;
  camera: CameraCapture | null = null;
  microphone: MicrophoneCapture | null = null;
  stream: MediaStream | null = null;
  /** One jitter buffer and one driver per stream: "A" (the session's strategy) and, in A/B, "B". */
  readonly buffers: Record<Variant, JitterBuffer> = {
    A: new JitterBuffer({ delayMs: 60, capacity: 64 }),
    B: new JitterBuffer({ delayMs: 60, capacity: 64 }),
  };
  readonly drivers: Record<Variant, AvatarDriver | null> = { A: null, B: null };
  /** Whether this publisher sends its camera, its microphone (over either transport). */
  sendsVideo = false;
  sendsAudio = false;
  state: ConnectionState = "idle";
  stateDetail = "";
  sessionId: string | null = null;
  framesReceived = 0;
  emotion: Payload | null = null;
  /** The newest `transcript` (only while the server runs SenseVoice). */
  transcript: Payload | null = null;
  lastError: string | null = null;
  /** Camera capture → avatar frame on screen, of the main view (A), while a tracked frame is drawn. */
  readonly draw = new DrawMeter();
  calibrationEvents: Payload[] = [];
  calibrationResult: Payload | null = null;
  configured: Payload | null = null;
  /** The avatar file the latest welcome names (`avatar_url`: the publisher's uploaded avatar,
   * kept by the server with its rig), null when it names none. Watchers and the overlay draw it. */
  welcomeAvatarUrl: string | null = null;
  readonly listeners = new Set<() => void>();
  /** Avatar frames per stream, counted on the server's clock (driving/streamRate.ts). */
  private readonly rates: Record<Variant, StreamRate> = { A: new StreamRate(), B: new StreamRate() };

  /** Camera capture → avatar frame on screen (ms), measured at draw time (driving/drawMeter.ts);
   * null while no tracked frame is drawn. */
  get latencyMs(): number | null {
    return this.draw.delayMs;
  }

  /** Frames drawn over the last second: what the user sees, which software GL can hold far
   * below the stream's rate. */
  get renderFps(): number {
    return this.draw.fps(Date.now());
  }

  /** Avatar frames per second over the last second of the stream, per stream (B only in A/B). */
  get outputHzByVariant(): { A: number; B?: number } {
    const now = Date.now();
    const A = this.rates.A.hz(now), B = this.rates.B.hz(now);
    return B ? { A, B } : { A };
  }

  /** The size of the camera frames the server gets (0×0 before the first), whichever the transport. */
  get frameSize(): { width: number; height: number } {
    const s = this.rtcStats;
    if (this.transport === "webrtc") return { width: s?.frameWidth ?? 0, height: s?.frameHeight ?? 0 };
    return this.camera?.frameSize ?? { width: 0, height: 0 };
  }

  get inputFps(): number {
    return this.transport === "webrtc" ? Math.round(this.rtcStats?.framesPerSecond ?? 0) : this.camera?.fps ?? 0;
  }

  /** Publisher: consent given, start capture and the stream. */
  async start(settings: SessionSettings, video: HTMLVideoElement): Promise<void> {
    this.stop();
    // Only the width is asked for: the camera keeps its own shape (16:9, 4:3, portrait). A chosen
    // device that is gone falls back to the default one ("ideal", not "exact").
    const device = (id: string) => (id ? { deviceId: { ideal: id } } : {});
    this.stream = await navigator.mediaDevices.getUserMedia({
      video: settings.camera ? { width: { ideal: settings.longSide }, frameRate: { ideal: settings.fps }, ...device(settings.cameraId) } : false,
      audio: settings.microphone ? { channelCount: 1, echoCancellation: true, ...device(settings.microphoneId) } : false,
    });
    this.sendsVideo = settings.camera;
    this.sendsAudio = settings.microphone;
    video.srcObject = this.stream;
    await video.play().catch(() => undefined);
    const hello: Payload = {
      consent: { camera: settings.camera, microphone: settings.microphone },
      rig: settings.rig, strategy: settings.strategy, format: settings.format, rate_hz: 60, mirror: settings.mirror,
      ...(settings.userId ? { user_id: settings.userId } : {}),
      ...(SESSION_NAME.test(settings.sessionName) ? { session_name: settings.sessionName } : {}),
      ...(serverToken() ? { token: serverToken() } : {}),
    };
    if (settings.transport !== "websocket") {
      if (await this.startWebRtc(hello, this.stream)) return;
      if (settings.transport === "webrtc") return; // forced: the refusal stays on screen
    }
    this.transport = "websocket";
    const client = new AvatarClient({
      url: serverUrl("/v1/stream"), hello,
      onMessage: (m) => this.onMessage(m),
      onState: (s, d) => this.setState(s, d),
    });
    this.client = client;
    client.connect();
    if (settings.camera) {
      this.camera = new CameraCapture(video, {
        fps: settings.fps, longSide: settings.longSide, quality: 0.75,
        canSend: () => client.canSend(),
        send: (jpeg, captureMs) => client.send(MessageType.VideoFrame, { image: jpeg, capture_ms: epochMs(captureMs) }),
      });
      this.camera.start();
    }
    if (settings.microphone) {
      this.microphone = new MicrophoneCapture((pcm, rate, captureMs) => {
        if (client.canSend()) client.send(MessageType.AudioChunk, { pcm, sample_rate_hz: rate, capture_ms: epochMs(captureMs) });
      });
      await this.microphone.start(this.stream);
    }
  }

  /** The session over WebRTC; false (everything closed again, the reason in lastError) when
   * the offer is refused or no welcome comes within WEBRTC_WELCOME_MS. */
  private async startWebRtc(hello: Payload, stream: MediaStream): Promise<boolean> {
    const client = new WebRtcClient({
      offerUrl: `${location.origin}/v1/webrtc/offer`, token: serverToken() ?? null, hello, stream,
      onMessage: (m) => this.onMessage(m),
      onState: (s, d) => this.setState(s, d),
    });
    this.client = client;
    this.transport = "webrtc";
    try {
      await client.connect();
      const deadline = performance.now() + WEBRTC_WELCOME_MS;
      while (!client.welcome && performance.now() < deadline && this.client === client)
        await new Promise((r) => setTimeout(r, 50));
      if (!client.welcome) throw new OfferRefused("timeout", `no welcome over WebRTC within ${WEBRTC_WELCOME_MS / 1000} s`);
    } catch (e) {
      client.close();
      if (this.client === client) this.client = null;
      this.transport = null;
      this.lastError = e instanceof OfferRefused ? `WebRTC ${e.code}: ${e.message}` : `WebRTC: ${String(e)}`;
      this.notify();
      return false;
    }
    this.statsTimer = setInterval(() => {
      void client.stats().then((s) => { this.rtcStats = s; });
    }, 1000);
    return true;
  }

  /** Watcher: another session's avatar, nothing captured. ``untilStopped`` (the OBS overlay)
   * waits for a session name that is not live yet and comes back after the session ends. */
  watch(sessionId: string, untilStopped = false): void {
    this.stop();
    const wait = untilStopped && SESSION_NAME.test(sessionId);
    this.client = new AvatarClient({
      url: serverUrl(`/v1/sessions/${encodeURIComponent(sessionId)}/watch?format=packed`
        + (wait ? "&wait=true" : "") + (serverToken() ? `&token=${encodeURIComponent(serverToken()!)}` : "")),
      onMessage: (m) => this.onMessage(m),
      onState: (s, d) => this.setState(s, d),
      reconnectWhenEnded: wait,
    });
    this.client.connect();
  }

  stop(): void {
    if (this.statsTimer) clearInterval(this.statsTimer);
    this.statsTimer = null;
    this.rtcStats = null;
    this.transport = null;
    this.camera?.stop();
    void this.microphone?.stop();
    this.client?.close();
    this.stream?.getTracks().forEach((t) => t.stop());
    this.camera = this.microphone = this.client = this.stream = null;
    this.sendsVideo = this.sendsAudio = false;
    this.configured = null;
    this.forgetStream();
    this.setState("idle");
  }

  /** What the last stream said (emotion, words, latency, frames) no longer describes anyone. */
  private forgetStream(): void {
    this.emotion = this.transcript = null;
    this.draw.reset();
    this.rates.A.reset();
    this.rates.B.reset();
    this.buffers.A.reset();
    this.buffers.B.reset();
  }

  send(type: string, payload: Payload): void {
    this.client?.send(type, payload);
  }

  private setState(state: ConnectionState, detail = ""): void {
    this.state = state;
    this.stateDetail = detail;
    if (state === "closed") this.forgetStream(); // the session ended or was refused: the avatar rests
    if (state === "open") {
      this.sessionId = detail;
      this.buffers.A.reset(); // a (re)connected session starts its own sequence
      this.buffers.B.reset();
      this.rates.A.reset();
      this.rates.B.reset();
    }
    this.notify();
  }

  private onMessage(m: Envelope): void {
    switch (m.type) {
      case MessageType.Welcome: {
        const url = m.payload.avatar_url;
        this.welcomeAvatarUrl = typeof url === "string" ? url : null;
        this.notify();
        break;
      }
      case MessageType.AvatarFrame:
        this.framesReceived++;
        this.rates[(m.payload.variant as Variant | undefined) ?? "A"].push(m.timestamp_ms ?? Date.now(), m.sequence ?? 0, Date.now());
        this.buffers[(m.payload.variant as Variant | undefined) ?? "A"]
          .push(poseFromPayload(m.timestamp_ms ?? Date.now(), m.sequence ?? 0, m.payload), Date.now());
        break;
      case MessageType.EmotionUpdate:
        this.emotion = m.payload;
        break;
      case MessageType.Transcript:
        this.transcript = m.payload;
        this.notify();
        break;
      case MessageType.Error:
        this.lastError = `${m.payload.code}: ${m.payload.message}`;
        this.notify();
        break;
      case MessageType.CalibrationStep:
        this.calibrationEvents.push({ ...m.payload, __at: Date.now() });
        this.notify();
        break;
      case MessageType.CalibrationResult:
        this.calibrationResult = m.payload;
        this.notify();
        break;
      case MessageType.Configured:
        this.configured = m.payload;
        this.notify();
        break;
      case MessageType.SessionPaused: // a named session's publisher is away; a welcome resumes it
        this.forgetStream();
        this.state = "paused";
        this.stateDetail = m.payload.reason === "waiting" ? "waiting for the session to start"
          : "the publisher is away; waiting for it to come back";
        this.notify();
        break;
    }
  }

  notify(): void {
    this.listeners.forEach((f) => f());
  }
}

export const runtime = new Runtime();
