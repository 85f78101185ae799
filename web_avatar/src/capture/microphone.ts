// Microphone as 16 kHz s16le mono PCM through an AudioWorklet, in 20 ms chunks.
export const MIC_RATE_HZ = 16000;
// 20 ms: lip-sync latency matters more than the message count (50/s, under the server limit).
const CHUNK_SAMPLES = 320;

export class MicrophoneCapture {
  private context: AudioContext | null = null;
  private pending: Float32Array[] = [];
  private pendingSamples = 0;
  private chunkStartMs = 0;

  constructor(private readonly send: (pcm: Uint8Array, sampleRateHz: number, captureMs: number) => void) {}

  async start(stream: MediaStream): Promise<void> {
    const context = new AudioContext({ sampleRate: MIC_RATE_HZ }); // the browser resamples
    await context.audioWorklet.addModule("/pcm-worklet.js");
    const source = context.createMediaStreamSource(stream);
    const node = new AudioWorkletNode(context, "pcm-capture");
    node.port.onmessage = (e: MessageEvent<Float32Array>) => this.push(e.data);
    source.connect(node);
    this.context = context;
  }

  private push(block: Float32Array): void {
    if (this.pendingSamples === 0) this.chunkStartMs = Date.now() - (1000 * block.length) / MIC_RATE_HZ;
    this.pending.push(block);
    this.pendingSamples += block.length;
    if (this.pendingSamples < CHUNK_SAMPLES) return;
    const pcm = new DataView(new ArrayBuffer(this.pendingSamples * 2));
    let i = 0;
    for (const b of this.pending) for (const s of b) pcm.setInt16(2 * i++, Math.max(-1, Math.min(1, s)) * 32767, true);
    this.send(new Uint8Array(pcm.buffer), this.context?.sampleRate ?? MIC_RATE_HZ, Math.round(this.chunkStartMs));
    this.pending = [];
    this.pendingSamples = 0;
  }

  async stop(): Promise<void> {
    await this.context?.close();
    this.context = null;
  }
}
