// A publisher over WebRTC (docs/protocol.md#webrtc): the camera and microphone as media tracks
// (the browser encodes them: no JPEG per frame on the main thread, no head-of-line blocking),
// the session's messages on two data channels — `control` (reliable) for everything but the
// stream, `avatar` (unordered, no retransmits) for the stream. Signalling is one POST with the
// hello; ICE uses host candidates only. The same surface as AvatarClient, plus `stats()`.
import { MessageType } from "../generated/protocol";
import { encodeMessage, type Envelope, type Payload } from "../protocol/codec";
import { readServerMessage, type ConnectionState } from "./client";

export interface WebRtcOptions {
  offerUrl: string;
  /** The server token, sent as a Bearer header as on every REST request (null: none). */
  token: string | null;
  hello: Payload;
  stream: MediaStream;
  onMessage: (message: Envelope) => void;
  onState: (state: ConnectionState, detail?: string) => void;
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
  welcome: Payload | null = null;

  constructor(private readonly options: WebRtcOptions) {}

  /** Offers, and resolves once the server answered; the welcome follows on `control`. */
  async connect(): Promise<void> {
    const pc = new RTCPeerConnection({ iceServers: [] });
    this.pc = pc;
    this.options.onState("connecting", "WebRTC");
    const control = pc.createDataChannel("control");
    const avatar = pc.createDataChannel("avatar", { ordered: false, maxRetransmits: 0 });
    for (const channel of [control, avatar]) {
      channel.binaryType = "arraybuffer";
      channel.onmessage = (e) => this.receive(e.data as ArrayBuffer | string);
    }
    control.onclose = () => { if (this.pc === pc) this.options.onState("closed", "the WebRTC connection closed"); };
    this.control = control;
    for (const track of this.options.stream.getTracks()) pc.addTrack(track, this.options.stream);
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "failed" && this.pc === pc) this.options.onState("closed", "the WebRTC connection failed");
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
    if (this.pc === null) return; // closed: what was still on its way is not this session's any more
    const message = readServerMessage(data, this.welcome);
    if (message === null) return;
    if (message.type === MessageType.Welcome) {
      this.welcome = message.payload;
      this.options.onState("open", String(message.payload.session_id));
    }
    this.options.onMessage(message);
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
    const pc = this.pc;
    if (this.control?.readyState === "open") this.send(MessageType.Bye, {});
    this.pc = null;
    setTimeout(() => pc?.close(), 100); // the bye goes out first
    this.control = null;
  }
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
