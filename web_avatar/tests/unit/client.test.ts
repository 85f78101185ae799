// AvatarClient against a scripted WebSocket: a publisher whose welcome carried a resume_token
// (the golden `welcome_resumed`) reconnects with `resume`; when that fails it says hello.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { backoffMs } from "../../src/connection/backoff";
import { AvatarClient } from "../../src/connection/client";
import { decodeCbor, encodeMessage } from "../../src/protocol/codec";

const GOLDEN = join(__dirname, "../../../tests/golden");

class ScriptedSocket {
  static OPEN = 1;
  static made: ScriptedSocket[] = [];
  readyState = 0;
  bufferedAmount = 0;
  binaryType = "";
  sent: { type: string; payload: Record<string, unknown> }[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((e: { data: ArrayBuffer }) => void) | null = null;
  onclose: ((e: { code: number; reason: string }) => void) | null = null;
  constructor(readonly url: string) { ScriptedSocket.made.push(this); }
  send(data: Uint8Array) { this.sent.push(decodeCbor(data) as { type: string; payload: Record<string, unknown> }); }
  close() { this.readyState = 3; }
  open() { this.readyState = 1; this.onopen?.(); }
  deliver(bytes: Uint8Array) {
    this.onmessage?.({ data: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer });
  }
  drop(code = 1006, reason = "") { this.readyState = 3; this.onclose?.({ code, reason }); }
}

const golden = (name: string) => new Uint8Array(readFileSync(join(GOLDEN, `${name}.cbor`)));

describe("AvatarClient", () => {
  beforeEach(() => {
    ScriptedSocket.made = [];
    vi.stubGlobal("WebSocket", ScriptedSocket);
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  function publisher() {
    const states: string[] = [];
    const client = new AvatarClient({ url: "ws://edge/v1/stream", hello: { consent: { camera: true } },
      onMessage: () => {}, onState: (s) => states.push(s) });
    client.connect();
    return { client, states };
  }

  it("resumes its session through the next connection when its welcome allowed it", () => {
    const { states } = publisher();
    const first = ScriptedSocket.made[0];
    first.open();
    expect(first.sent[0].type).toBe("hello");
    first.deliver(golden("welcome_resumed"));
    first.drop(); // the edge died
    vi.runOnlyPendingTimers();
    const second = ScriptedSocket.made[1];
    second.open();
    expect(second.sent[0]).toMatchObject({ type: "resume",
      payload: { session_id: "Gx3kQ9vTz1Ab", resume_token: "q2Vd0wX7c1yM4nB8rT5kLp9zA3sE6fHj" } });
    expect(states).toEqual(["connecting", "open", "reconnecting", "reconnecting"]);
  });

  it("says hello when the session cannot be resumed, and hello only without a token", () => {
    publisher();
    const first = ScriptedSocket.made[0];
    first.open();
    first.deliver(golden("welcome_resumed"));
    first.drop();
    vi.runOnlyPendingTimers();
    const second = ScriptedSocket.made[1];
    second.open();
    second.deliver(encodeMessage("error", { code: "resume_failed", message: "gone" }, 0));
    expect(second.sent.map((m) => m.type)).toEqual(["resume", "hello"]);
    second.deliver(golden("welcome")); // an embedded server: no resume_token
    second.drop();
    vi.runOnlyPendingTimers();
    const third = ScriptedSocket.made[2];
    third.open();
    expect(third.sent.map((m) => m.type)).toEqual(["hello"]);
  });

  it("does not come back once another connection took its stream name (the two would take turns)", () => {
    const { states } = publisher();
    ScriptedSocket.made[0].open();
    ScriptedSocket.made[0].deliver(golden("welcome"));
    ScriptedSocket.made[0].drop(4409, "another connection took this session's name");
    vi.runAllTimers();
    expect(ScriptedSocket.made).toHaveLength(1);
    expect(states.at(-1)).toBe("closed");
  });

  it("reports nothing once closed: a new client's session is not ended by the old one's close", () => {
    const { client, states } = publisher();
    ScriptedSocket.made[0].open();
    ScriptedSocket.made[0].deliver(golden("welcome"));
    client.close();
    ScriptedSocket.made[0].drop(1000); // the close handshake ends after the next client started
    vi.runAllTimers();
    expect(states).toEqual(["connecting", "open"]);
    expect(ScriptedSocket.made).toHaveLength(1);
  });
});

describe("backoffMs", () => {
  it("doubles from 0.5 s to at most 4 s, drawn from the upper half", () => {
    expect([0, 1, 2, 3, 4, 9].map((n) => backoffMs(n, undefined, () => 1))).toEqual([500, 1000, 2000, 4000, 4000, 4000]);
    expect(backoffMs(0, undefined, () => 0)).toBe(250);
    expect(backoffMs(3, 3000, () => 1)).toBe(3000);
  });
});
