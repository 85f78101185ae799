// Wire encoding of protocol v1 (docs/protocol.md): one CBOR map per binary message.
// The only module that touches cbor-x.
import { Decoder, Encoder } from "cbor-x";

// cbor-x reads `int64AsNumber` (decode.js) but its Options type leaves it out (kriszyp/cbor-x#133).
declare module "cbor-x" {
  interface Options {
    int64AsNumber?: boolean;
  }
}

// Plain RFC 8949 maps and byte strings: no cbor-x record or typed-array tags.
const encoder = new Encoder({ useRecords: false, tagUint8Array: false, mapsAsObjects: true });
// Epoch milliseconds are 64-bit integers on the wire: decode them as plain numbers.
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true, int64AsNumber: true });

export type Payload = Record<string, unknown>;

export interface Envelope {
  type: string;
  session_id: string | null;
  timestamp_ms: number | null;
  sequence: number | null;
  payload: Payload;
}

/** Epoch milliseconds as a CBOR integer (a JS number above 2^32 would be written as a float). */
export function epochMs(ms: number = Date.now()): bigint {
  return BigInt(Math.round(ms));
}

export function encodeMessage(type: string, payload: Payload, sequence: number, sessionId: string | null = null): Uint8Array<ArrayBuffer> {
  const bytes = encoder.encode({ type, session_id: sessionId, timestamp_ms: epochMs(), sequence, payload });
  // cbor-x writes into an ArrayBuffer (never a SharedArrayBuffer), which WebSocket and
  // RTCDataChannel send take; its typings only promise a Buffer<ArrayBufferLike>.
  return onArrayBuffer(bytes) ? bytes : new Uint8Array(bytes);
}

function onArrayBuffer(bytes: Uint8Array): bytes is Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer;
}

/** Any CBOR value: an envelope map, or a packed avatar_frame (integer keys). */
export function decodeCbor(data: ArrayBuffer | Uint8Array): unknown {
  return decoder.decode(data instanceof Uint8Array ? data : new Uint8Array(data));
}
