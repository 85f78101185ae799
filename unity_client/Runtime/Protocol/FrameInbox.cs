using System.Collections.Concurrent;

namespace AvatarDriver.Protocol
{
    /// <summary>
    /// The hand-off from the network thread to the main thread: a lock-free queue, bounded by
    /// dropping the oldest frames when the main thread falls behind (the jitter buffer only
    /// needs the recent ones).
    /// </summary>
    public sealed class FrameInbox
    {
        readonly ConcurrentQueue<AvatarFrame> _queue = new ConcurrentQueue<AvatarFrame>();
        readonly int _capacity;
        int _dropped;

        public FrameInbox(int capacity = 32) { _capacity = capacity; }

        public int Dropped => _dropped;

        /// <summary>Network thread.</summary>
        public void Post(AvatarFrame frame)
        {
            _queue.Enqueue(frame);
            AvatarFrame old;
            while (_queue.Count > _capacity && _queue.TryDequeue(out old)) System.Threading.Interlocked.Increment(ref _dropped);
        }

        /// <summary>Main thread: the oldest waiting frame, if any.</summary>
        public bool TryTake(out AvatarFrame frame) => _queue.TryDequeue(out frame);

        /// <summary>Main thread: moves everything waiting into the jitter buffer.</summary>
        public int DrainInto(JitterBuffer buffer)
        {
            int n = 0;
            AvatarFrame f;
            while (_queue.TryDequeue(out f)) { buffer.Add(f); n++; }
            return n;
        }
    }
}
