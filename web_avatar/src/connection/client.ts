// One WebSocket to the server, as publisher (/v1/stream) or watcher (/v1/sessions/{id}/watch),
// with automatic reconnect and exponential backoff. Packed frames are unpacked here.
// A publisher whose welcome carried a resume_token (a cluster: docs/scaling.md) reconnects
// with `resume`, keeping its session, calibration and watchers; where that fails it says hello.
import { CloseCode, ErrorCode, MessageType } from "../generated/protocol";
import { decodeCbor, encodeMessage, type Envelope, type Payload } from "../protocol/codec";
import { isPacked, unpackAvatarFrame } from "../protocol/packed";
import { backoffMs } from "./backoff";

/** "paused": a watcher's named session has no publisher for now (session_paused). */
export type ConnectionState = "idle" | "connecting" | "open" | "paused" | "reconnecting" | "closed";

export interface ClientOptions {
  url: string;
  /** Publisher: the hello payload sent on every (re)connect. Watchers have none. */
  hello?: Payload;
  onMessage: (message: Envelope) => void;
  onState: (state: ConnectionState, detail?: string) => void;
  maxBackoffMs?: number;
  /** A watcher that reconnects after its session ended (an OBS overlay left running). */
  reconnectWhenEnded?: boolean;
}

export class AvatarClient {
  private ws: WebSocket | null = null;
  private sequence = 0;
  private attempt = 0;
  private stopped = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private resumable: { session_id: string; resume_token: string } | null = null;
  private resuming = false;
  welcome: Payload | null = null;

  constructor(private readonly options: ClientOptions) {}

  connect(): void {
    this.stopped = false;
    this.options.onState(this.attempt ? "reconnecting" : "connecting");
    const ws = new WebSocket(this.options.url);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      if (!this.options.hello) return;
      this.resuming = this.resumable !== null;
      // A resume presents the hello's server token too: a resume_token alone resumes nothing.
      const token = this.options.hello.token;
      if (this.resumable) this.send(MessageType.Resume, token === undefined ? this.resumable : { ...this.resumable, token });
      else this.send(MessageType.Hello, this.options.hello);
    };
    ws.onmessage = (e) => this.receive(e.data);
    ws.onclose = (e) => {
      this.ws = null;
      if (this.stopped) return; // closed here: a client that was closed reports nothing more
      // Final: asked for, refused, no such session, taken over by another connection (coming
      // back would take the name back, and the two would take turns), or (for a watcher) the
      // session ended.
      const ended = !this.options.hello && e.code === CloseCode.GoingAway && !this.options.reconnectWhenEnded;
      if (ended || e.code === CloseCode.Normal || e.code === CloseCode.Policy
          || e.code === CloseCode.UnknownSession || e.code === CloseCode.Replaced) {
        this.options.onState("closed", e.reason || `code ${e.code}`);
        return;
      }
      const delay = backoffMs(this.attempt++, this.options.maxBackoffMs);
      this.options.onState("reconnecting", `retry in ${(delay / 1000).toFixed(1)} s`);
      this.timer = setTimeout(() => this.connect(), delay);
    };
  }

  private receive(data: ArrayBuffer | string): void {
    const message = readServerMessage(data, this.welcome);
    if (message === null) return;
    if (message.type === MessageType.Error && this.resuming && message.payload.code === ErrorCode.ResumeFailed) {
      this.resuming = false; // the session is gone: start a new one
      this.resumable = null;
      if (this.options.hello) this.send(MessageType.Hello, this.options.hello);
      return;
    }
    if (message.type === MessageType.Welcome) {
      this.welcome = message.payload;
      this.resuming = false;
      const token = message.payload.resume_token;
      this.resumable = this.options.hello && typeof token === "string"
        ? { session_id: String(message.payload.session_id), resume_token: token } : null;
      this.options.onState("open", String(message.payload.session_id));
    }
    this.options.onMessage(message);
  }

  /** False when the socket is not open or its send buffer is backed up (the caller skips a frame). */
  canSend(maxBufferedBytes = 1_000_000): boolean {
    return this.ws?.readyState === WebSocket.OPEN && this.ws.bufferedAmount < maxBufferedBytes && this.welcome !== null;
  }

  send(type: string, payload: Payload): void {
    if (this.ws?.readyState !== WebSocket.OPEN) return;
    this.ws.send(encodeMessage(type, payload, this.sequence++));
  }

  close(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.ws?.readyState === WebSocket.OPEN) this.send(MessageType.Bye, {});
    this.ws?.close(CloseCode.Normal);
    this.ws = null;
  }
}

/** A server message (CBOR bytes or JSON text) as an envelope; a packed frame is unpacked with
 * the welcome's layout (null before a welcome came). */
export function readServerMessage(data: ArrayBuffer | string, welcome: Payload | null): Envelope | null {
  const value = typeof data === "string" ? JSON.parse(data) : decodeCbor(data);
  if (!isPacked(value)) return value as Envelope;
  const w = welcome as { channels: string[]; bones: string[] } | null;
  return w ? unpackAvatarFrame(value, w.channels, w.bones) : null;
}

export function serverUrl(path: string): string {
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${path}`;
}
