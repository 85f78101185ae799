// WebRtcClient against a scripted RTCPeerConnection and fetch: a live connection whose data
// channels go silent, whose ICE fails or whose server goes away comes back on the WebSocket's
// backoff; a server that ends the session, or WebRTC that will not come back, is not retried.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { WebRtcClient } from "../../src/connection/webrtcClient";
import { decodeCbor } from "../../src/protocol/codec";

const GOLDEN = join(__dirname, "../../../tests/golden");
const golden = (name: string) => new Uint8Array(readFileSync(join(GOLDEN, `${name}.cbor`)));
const bytes = (b: Uint8Array) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;

class ScriptedChannel {
  readyState = "connecting";
  binaryType = "";
  sent: { type: string }[] = [];
  onmessage: ((e: { data: ArrayBuffer }) => void) | null = null;
  onclose: (() => void) | null = null;
  constructor(readonly label: string) {}
  send(data: Uint8Array) { this.sent.push(decodeCbor(data) as { type: string }); }
  deliver(message: Uint8Array) { this.onmessage?.({ data: bytes(message) }); }
  serverClosed() { this.readyState = "closed"; this.onclose?.(); }
}

class ScriptedPeer {
  static made: ScriptedPeer[] = [];
  connectionState = "new";
  iceGatheringState = "complete";
  localDescription: { sdp: string; type: string } | null = null;
  channels: ScriptedChannel[] = [];
  closed = false;
  onconnectionstatechange: (() => void) | null = null;
  constructor() { ScriptedPeer.made.push(this); }
  createDataChannel(label: string) { const c = new ScriptedChannel(label); this.channels.push(c); return c; }
  addTrack() {}
  async createOffer() { return { type: "offer", sdp: "v=0 offer" }; }
  async setLocalDescription(d: { sdp: string; type: string }) { this.localDescription = d; }
  async setRemoteDescription() {}
  addEventListener() {}
  removeEventListener() {}
  close() { this.closed = true; this.connectionState = "closed"; }
  get control() { return this.channels[0]; }
  /** The server's side came up: the channels open and the welcome arrives. */
  welcome() { for (const c of this.channels) c.readyState = "open"; this.control.deliver(golden("welcome")); }
  fail() { this.connectionState = "failed"; this.onconnectionstatechange?.(); }
}

/** The offer endpoint: answers while `up`, else the network error of a server that is not there. */
const server = { up: true, status: 200, detail: null as null | { code: string; message: string }, offers: 0 };
async function offerEndpoint(): Promise<Partial<Response>> {
  server.offers++;
  if (!server.up) throw new TypeError("Failed to fetch");
  if (server.status !== 200) return { ok: false, status: server.status, statusText: "refused", json: async () => ({ detail: server.detail }) };
  return { ok: true, status: 200, json: async () => ({ type: "answer", sdp: "v=0 answer" }) };
}

describe("WebRtcClient", () => {
  let states: [string, string][];
  let answers: boolean;

  beforeEach(() => {
    ScriptedPeer.made = [];
    Object.assign(server, { up: true, status: 200, detail: null, offers: 0 });
    answers = false;
    states = [];
    vi.useFakeTimers();
    vi.stubGlobal("RTCPeerConnection", ScriptedPeer);
    vi.stubGlobal("fetch", vi.fn(offerEndpoint));
    vi.spyOn(Math, "random").mockReturnValue(1); // the backoff's upper bound: 0.5, 1, 2, 4, 4 s
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
    vi.restoreAllMocks();
  });

  async function live() {
    const client = new WebRtcClient({
      offerUrl: "http://edge/v1/webrtc/offer", token: null, hello: { consent: { camera: true } },
      stream: { getTracks: () => [] } as unknown as MediaStream,
      onMessage: () => {}, onState: (s, d = "") => states.push([s, d]),
      serverAnswers: async () => answers,
    });
    await client.connect();
    ScriptedPeer.made.at(-1)!.welcome();
    expect(states.at(-1)?.[0]).toBe("open");
    return client;
  }
  const last = () => states.at(-1)!;

  it("counts data channels silent for over 2 s as lost, and offers again", async () => {
    const client = await live();
    const first = ScriptedPeer.made[0];
    for (let i = 0; i < 10; i++) { // 5 s of frames: live all along
      await vi.advanceTimersByTimeAsync(500);
      first.channels[1].deliver(golden("avatar_frame_named"));
    }
    expect(last()[0]).toBe("open");
    await vi.advanceTimersByTimeAsync(2300); // the server died: nothing comes, ICE says nothing yet
    expect(last()).toEqual(["reconnecting", "no data from the server for 2 s; retry in 0.5 s"]);
    expect(first.closed).toBe(true);
    expect(client.canSend()).toBe(false);
    await vi.advanceTimersByTimeAsync(500);
    expect(server.offers).toBe(2);
    ScriptedPeer.made[1].welcome();
    expect(last()[0]).toBe("open");
    expect(client.canSend()).toBe(true);
    first.channels[1].deliver(golden("avatar_frame_named")); // the old connection is not listened to
  });

  it("retries a server that is away on the WebSocket's backoff, for as long as it takes", async () => {
    await live();
    server.up = false;
    ScriptedPeer.made[0].fail();
    const delays: string[] = [];
    for (let i = 0; i < 6; i++) {
      const delay = last()[1].replace(/.*retry in /, "");
      delays.push(delay);
      await vi.advanceTimersByTimeAsync(parseFloat(delay) * 1000);
    }
    expect(delays).toEqual(["0.5 s", "1.0 s", "2.0 s", "4.0 s", "4.0 s", "4.0 s"]);
    expect(last()[1]).toMatch(/did not take the offer \(network\)/);
    server.up = true;
    await vi.advanceTimersByTimeAsync(4000); // the next retry, answered
    ScriptedPeer.made.at(-1)!.welcome();
    expect(last()[0]).toBe("open");
    server.up = false; // lost again: the backoff starts over
    ScriptedPeer.made.at(-1)!.fail();
    expect(last()[1]).toMatch(/retry in 0.5 s/);
  });

  it("takes a control channel closed by a server that is going away as lost", async () => {
    await live();
    answers = false;
    ScriptedPeer.made[0].control.serverClosed();
    await vi.advanceTimersByTimeAsync(0);
    expect(last()).toEqual(["reconnecting", "the server went away; retry in 0.5 s"]);
  });

  it("does not come back when the server that still answers ended the session (taken over)", async () => {
    await live();
    answers = true;
    ScriptedPeer.made[0].control.serverClosed();
    await vi.advanceTimersByTimeAsync(60000);
    expect(last()).toEqual(["closed", "the server ended the session"]);
    expect(server.offers).toBe(1);
  });

  it("gives up with fallBack when a reconnect brings no welcome, or its offer is refused for good", async () => {
    const silent = await live();
    ScriptedPeer.made[0].fail();
    await vi.advanceTimersByTimeAsync(500 + 4100); // offered again, answered, and no welcome
    expect(last()).toEqual(["closed", "no welcome over WebRTC within 4 s"]);
    expect(silent.fallBack).toBe(true);
    await vi.advanceTimersByTimeAsync(60000);
    expect(server.offers).toBe(2);

    const refused = await live();
    Object.assign(server, { status: 400, detail: { code: "bad_message", message: "no codec in common" } });
    ScriptedPeer.made.at(-1)!.fail();
    await vi.advanceTimersByTimeAsync(500);
    expect(last()).toEqual(["closed", "WebRTC bad_message: no codec in common"]);
    expect(refused.fallBack).toBe(true);
  });

  it("retries a busy server, and stops retrying once closed", async () => {
    const client = await live();
    Object.assign(server, { status: 503, detail: { code: "server_busy", message: "full" } });
    ScriptedPeer.made[0].fail();
    await vi.advanceTimersByTimeAsync(500);
    expect(last()[1]).toMatch(/did not take the offer \(server_busy\); retry in 1.0 s/);
    client.close();
    await vi.advanceTimersByTimeAsync(60000);
    expect(server.offers).toBe(2);
    expect(client.fallBack).toBe(false);
  });
});
