// The one reconnect schedule of both transports: 0.5 s doubling to at most 4 s, each delay
// drawn from its upper half (so clients that lost the same server do not come back in step).
// 4 s, not more: a restarted server (up in ~5 s) has its publishers and watchers live again
// within 10 s; at 8 s the wait alone could take most of that. One connection attempt per 2–4 s
// per client is nothing to a server.
export const FIRST_DELAY_MS = 500;
export const MAX_BACKOFF_MS = 4000;

/** The delay before reconnect number ``attempt`` (0 for the first after a loss). */
export function backoffMs(attempt: number, maxMs = MAX_BACKOFF_MS, random: () => number = Math.random): number {
  return Math.min(maxMs, FIRST_DELAY_MS * 2 ** attempt) * (0.5 + random() / 2);
}
