// Encodes camera frames as JPEG off the main thread (the WebSocket path): the main thread only
// takes an ImageBitmap of the current video frame, scaled, and transfers it here; the JPEG bytes
// are transferred back. On a slow machine the main thread is busy drawing the avatar, and a
// synchronous encode there delays both the frames sent and the frames drawn.
export interface EncodeRequest {
  id: number;
  bitmap: ImageBitmap;
  quality: number;
}

export type EncodeReply = { id: number; jpeg: ArrayBuffer } | { id: number; error: string };

let canvas: OffscreenCanvas | null = null;

async function encode({ id, bitmap, quality }: EncodeRequest): Promise<EncodeReply> {
  try {
    if (!canvas || canvas.width !== bitmap.width || canvas.height !== bitmap.height)
      canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext("2d");
    if (!ctx) return { id, error: "no 2d context on an OffscreenCanvas" };
    ctx.drawImage(bitmap, 0, 0);
    const blob = await canvas.convertToBlob({ type: "image/jpeg", quality });
    return { id, jpeg: await blob.arrayBuffer() };
  } catch (e) {
    return { id, error: String(e) };
  } finally {
    bitmap.close();
  }
}

const scope = self as unknown as { onmessage: ((e: MessageEvent<EncodeRequest>) => void) | null;
  postMessage: (m: EncodeReply, transfer: Transferable[]) => void };
scope.onmessage = (e) => {
  void encode(e.data).then((reply) => scope.postMessage(reply, "jpeg" in reply ? [reply.jpeg] : []));
};
