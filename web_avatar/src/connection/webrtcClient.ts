// A publisher over WebRTC (docs/protocol.md#webrtc): the camera and microphone as media tracks
// (the browser encodes them: no JPEG per frame on the main thread, no head-of-line blocking),
// the session's messages on two data channels — `control` (reliable) for everything but the
// stream, `avatar` (unordered, no retransmits) for the stream. Signalling is one POST with the
// hello; ICE uses host candidates only. The same surface as AvatarClient, plus `stats()`.
//
// A live connection that is lost comes back by itself, on the WebSocket's schedule (backoff.ts):
// lost is ICE `failed`, both data channels silent for SILENCE_MS (the server sends avatar frames
// at rate_hz, at least 1 Hz, whatever the camera shows: a dead server says nothing, and ICE
// would take ~17 s to call it failed), or the `control` channel closing while the server does
// not answer HTTP (it is going away: a restart). A `control` channel that closes while the
// server answers is the server ending the session (taken over, an error): "closed", never
// retried, or two tabs with one stream name would take it from each other in turn. A
// reconnect whose offer the server refuses for good, or that brings no welcome within
// WELCOME_MS, gives up with `fallBack` set: the caller goes on over the WebSocket.
import { MessageType } from "../generated/protocol";
import { encodeMessage, type Envelope, type Payload } from "../protocol/codec";
import { backoffMs } from "./backoff";
import { readServerMessage, type ConnectionState } from "./client";

/** Data channels silent for longer than this, once live, are a lost connection. */
export const SILENCE_MS = 2000;
/** How long a reconnect's offer may take to bring a welcome before the caller falls back. */
export const WELCOME_MS = 4000;
const CHECK_MS = 250;
/** Refusals a reconnect retries (the server is starting, full, or behind a proxy that waits for it). */
const RETRIED = new Set(["network", "server_busy"]);

export interface WebRtcOptions {
  offerUrl: string;
  /** The server token, sent as a Bearer header as on every REST request (null: none). */
  token: string | null;
  hello: Payload;
  stream: MediaStream;
  onMessage: (message: Envelope) => void;
  onState: (state: ConnectionState, detail?: string) => void;
  maxBackoffMs?: number;
  silenceMs?: number;
  welcomeMs?: number;
  /** Whether the server answers HTTP at all (asked when `control` closes); by default a GET of
   * /healthz beside the offer URL, any status, within 1.5 s. */
  serverAnswers?: () => Promise<boolean>;
}

/** What the HUD shows of the connection, from the browser's own statistics. */
export interface WebRtcStats {
  rttMs: number | null;
  /** Frames the camera track sends per second, and the upstream bitrate (all tracks). */
  framesPerSecond: number | null;
  kbitPerSecond: number | null;
  /** The size the browser encodes the camera at (it may lower it under load; the shape stays). */
  frameWidth: number | null;
  frameHeight: number | null;
}

/** Why the offer was not taken: the server's error code (server_busy, auth_failed, …) or "network". */
export class OfferRefused extends Error {
  constructor(readonly code: string, message: string) { super(message); }
}

export class WebRtcClient {
  private pc: RTCPeerConnection | null = null;
  private control: RTCDataChannel | null = null;
  private sequence = 0;
  private lastBytes: { at: number; bytes: number } | null = null;
  private attempt = 0;
  private stopped = false;
  private retry: ReturnType<typeof setTimeout> | null = null;
  private watchdog: ReturnType<typeof setInterval> | null = null;
  private heardAt = 0;
  private checkedAt = 0;
  private welcomed: (() => void) | null = null;
  welcome: Payload | null = null;
  /** Set when a lost connection would not come back over WebRTC while the server is there (its
   * offer refused for good, or no welcome within WELCOME_MS): the caller goes on over the WebSocket. */
  fallBack = false;

  constructor(private readonly options: WebRtcOptions) {}

  /** Offers, and resolves once the server answered; the welcome follows on `control`. */
  async connect(): Promise<void> {
    this.stopped = false;
    this.options.onState("connecting", "WebRTC");
    await this.offer();
  }

  private async offer(): Promise<void> {
    const pc = new RTCPeerConnection({ iceServers: [] });
    this.pc = pc;
    const control = pc.createDataChannel("control");
    const avatar = pc.createDataChannel("avatar", { ordered: false, maxRetransmits: 0 });
    for (const channel of [control, avatar]) {
      channel.binaryType = "arraybuffer";
      channel.onmessage = (e) => { if (this.pc === pc) this.receive(e.data as ArrayBuffer | string); };
    }
    control.onclose = () => { if (this.pc === pc && !this.stopped) void this.controlClosed(pc); };
    this.control = control;
    for (const track of this.options.stream.getTracks()) pc.addTrack(track, this.options.stream);
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "failed" && this.pc === pc) this.lost("the WebRTC connection failed");
    };
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc, 2000);
    let response: Response;
    try {
      response = await fetch(this.options.offerUrl, {
        method: "POST",
        headers: { "content-type": "application/json",
          ...(this.options.token ? { authorization: `Bearer ${this.options.token}` } : {}) },
        body: JSON.stringify({ sdp: pc.localDescription!.sdp, type: "offer", hello: this.options.hello }),
      });
    } catch (e) {
      throw new OfferRefused("network", String(e));
    }
    if (!response.ok) {
      const detail = await response.json().then((b) => b.detail).catch(() => null);
      throw new OfferRefused(detail?.code ?? `http_${response.status}`, detail?.message ?? response.statusText);
    }
    await pc.setRemoteDescription(await response.json());
  }

  private receive(data: ArrayBuffer | string): void {
    this.heardAt = performance.now();
    const message = readServerMessage(data, this.welcome);
    if (message === null) return;
    if (message.type === MessageType.Welcome) {
      this.welcome = message.payload;
      this.attempt = 0;
      this.watch();
      this.settle();
      this.options.onState("open", String(message.payload.session_id));
    }
    this.options.onMessage(message);
  }

  /** The silence watchdog of a live connection. A page that itself stalled (a long task, a
   * throttled background tab) starts counting again: its silence is not the server's. */
  private watch(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    const silenceMs = this.options.silenceMs ?? SILENCE_MS;
    this.checkedAt = this.heardAt = performance.now();
    this.watchdog = setInterval(() => {
      const now = performance.now();
      if (now - this.checkedAt > 0.75 * silenceMs) this.heardAt = now;
      this.checkedAt = now;
      if (now - this.heardAt > silenceMs) this.lost(`no data from the server for ${silenceMs / 1000} s`);
    }, CHECK_MS);
  }

  private async controlClosed(pc: RTCPeerConnection): Promise<void> {
    const answers = await (this.options.serverAnswers ?? healthz(this.options.offerUrl))();
    if (this.pc !== pc || this.stopped) return; // handled meanwhile: lost, or closed by us
    if (answers) this.end("the server ended the session");
    else this.lost("the server went away");
  }

  /** A connection that was lost: closed here, and offered again after the backoff. */
  private lost(reason: string): void {
    if (this.stopped) return;
    this.drop();
    this.scheduleRetry(reason);
  }

  private scheduleRetry(reason: string): void {
    const delay = backoffMs(this.attempt++, this.options.maxBackoffMs);
    this.options.onState("reconnecting", `${reason}; retry in ${(delay / 1000).toFixed(1)} s`);
    this.retry = setTimeout(() => void this.reconnect(), delay);
  }

  private async reconnect(): Promise<void> {
    this.retry = null;
    if (this.stopped) return;
    this.options.onState("reconnecting", "WebRTC");
    try {
      await this.offer();
    } catch (e) {
      if (this.stopped) return;
      this.drop();
      const refusal = e instanceof OfferRefused ? e : new OfferRefused("error", String(e));
      if (RETRIED.has(refusal.code) || /^http_5/.test(refusal.code)) this.scheduleRetry(`the server did not take the offer (${refusal.code})`);
      else this.giveUp(`WebRTC ${refusal.code}: ${refusal.message}`);
      return;
    }
    const pc = this.pc;
    const welcomeMs = this.options.welcomeMs ?? WELCOME_MS;
    if (!this.welcome) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, welcomeMs);
        this.welcomed = () => { clearTimeout(timer); resolve(); };
      });
    }
    if (this.stopped || this.pc !== pc || this.welcome) return; // live again, lost again, or closed
    this.drop();
    this.giveUp(`no welcome over WebRTC within ${welcomeMs / 1000} s`);
  }

  private giveUp(detail: string): void {
    this.fallBack = true;
    this.end(detail);
  }

  /** Final: the session ended, nothing is retried. */
  private end(detail: string): void {
    this.stopped = true;
    this.drop();
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    this.options.onState("closed", detail);
  }

  /** The connection closed here, at once (what it still delivers is ignored). */
  private drop(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = null;
    const pc = this.pc;
    this.pc = null;
    this.control = null;
    this.welcome = null;
    this.settle();
    pc?.close();
  }

  /** Ends a reconnect's wait for its welcome (it came, or the connection is gone). */
  private settle(): void {
    const welcomed = this.welcomed;
    this.welcomed = null;
    welcomed?.();
  }

  canSend(): boolean {
    return this.control?.readyState === "open" && this.welcome !== null;
  }

  send(type: string, payload: Payload): void {
    if (this.control?.readyState === "open") this.control.send(encodeMessage(type, payload, this.sequence++));
  }

  async stats(): Promise<WebRtcStats> {
    const out: WebRtcStats = { rttMs: null, framesPerSecond: null, kbitPerSecond: null, frameWidth: null, frameHeight: null };
    if (!this.pc) return out;
    let bytes = 0;
    (await this.pc.getStats()).forEach((r) => {
      if (r.type === "candidate-pair" && r.nominated && typeof r.currentRoundTripTime === "number")
        out.rttMs = Math.round(r.currentRoundTripTime * 1000);
      if (r.type === "outbound-rtp") {
        bytes += r.bytesSent ?? 0;
        if (r.kind === "video") {
          if (typeof r.framesPerSecond === "number") out.framesPerSecond = r.framesPerSecond;
          if (r.frameWidth) [out.frameWidth, out.frameHeight] = [r.frameWidth, r.frameHeight];
        }
      }
    });
    const now = performance.now();
    if (this.lastBytes && now > this.lastBytes.at)
      out.kbitPerSecond = Math.round((8 * (bytes - this.lastBytes.bytes)) / (now - this.lastBytes.at));
    this.lastBytes = { at: now, bytes };
    return out;
  }

  close(): void {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    if (this.watchdog) clearInterval(this.watchdog);
    this.retry = this.watchdog = null;
    this.settle();
    const pc = this.pc;
    if (this.control?.readyState === "open") this.send(MessageType.Bye, {});
    this.pc = null;
    setTimeout(() => pc?.close(), 100); // the bye goes out first
    this.control = null;
  }
}

/** Whether the server answers at all: any HTTP status counts, a refused connection does not. */
function healthz(offerUrl: string): () => Promise<boolean> {
  return () => fetch(new URL("/healthz", offerUrl), { signal: AbortSignal.timeout(1500) }).then(() => true, () => false);
}

/** Waits until the offer holds its ICE candidates (no trickle), at most ``timeoutMs``. */
function gathered(pc: RTCPeerConnection, timeoutMs: number): Promise<void> {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { pc.removeEventListener("icegatheringstatechange", check); resolve(); };
    const check = () => { if (pc.iceGatheringState === "complete") done(); };
    pc.addEventListener("icegatheringstatechange", check);
    setTimeout(done, timeoutMs);
  });
}
