using System;
using System.Diagnostics;
using System.Threading;
using AvatarDriver.Protocol;

namespace AvatarDriver.Tests
{
    /// <summary>Against a running server (AVATAR_DRIVER_URL, e.g. ws://127.0.0.1:8765): a
    /// publisher session, then a watcher of it. Skipped (reported) without the variable.</summary>
    public static class LiveTests
    {
        const int MinFrames = 30;

        public static string Url => Environment.GetEnvironmentVariable("AVATAR_DRIVER_URL");

        [CoreTest]
        public static void PublisherAndWatcherReceiveFrames()
        {
            if (string.IsNullOrEmpty(Url)) throw new SkipTest("AVATAR_DRIVER_URL is not set");
            using (var publisher = new AvatarDriverConnection(new ConnectionOptions
                   { Server = new Uri(Url), Mode = ConnectionMode.Publish, RateHz = 60 }))
            {
                publisher.Start();
                var frames = Collect(publisher, MinFrames, TimeSpan.FromSeconds(15));
                Check.True(frames.Count >= MinFrames, $"publisher got {frames.Count} frames ({publisher.LastError})");
                Check.Equal(52, publisher.Welcome.Channels.Length, "arkit52 channels");
                for (int i = 1; i < frames.Count; i++)
                    Check.Equal(frames[i - 1].Sequence + 1, frames[i].Sequence, "contiguous sequence");
                Check.True(!frames[0].FacePresent, "no camera: no face");

                using (var watcher = new AvatarDriverConnection(new ConnectionOptions
                       { Server = new Uri(Url), Mode = ConnectionMode.Watch, SessionId = publisher.Welcome.SessionId }))
                {
                    watcher.Start();
                    var watched = Collect(watcher, MinFrames, TimeSpan.FromSeconds(15));
                    Check.True(watched.Count >= MinFrames, $"watcher got {watched.Count} frames ({watcher.LastError})");
                    Check.True(watcher.Welcome.Watching, "a watcher's welcome");
                    Check.Equal(publisher.Welcome.SessionId, watched[0].SessionId, "the same session");
                }
            }
        }

        [CoreTest]
        public static void ReconnectsWithBackoffWhenTheServerIsAway()
        {
            // A port nobody listens on: the client keeps retrying, spacing attempts out.
            using (var c = new AvatarDriverConnection(new ConnectionOptions
                   { Server = new Uri("ws://127.0.0.1:9"), Mode = ConnectionMode.Publish,
                     InitialBackoff = TimeSpan.FromMilliseconds(50), MaxBackoff = TimeSpan.FromMilliseconds(200) }))
            {
                c.Start();
                var sw = Stopwatch.StartNew();
                while (c.Reconnects < 4 && sw.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(20);
                Check.True(c.Reconnects >= 4, $"{c.Reconnects} reconnect attempts");
                Check.True(sw.Elapsed >= TimeSpan.FromMilliseconds(50 + 100 + 200), "backoff doubles");
                Check.True(c.LastError != null, "the error is kept");
            }
        }

        [CoreTest]
        public static void WatchingAnUnknownSessionStopsWithTheReason()
        {
            if (string.IsNullOrEmpty(Url)) throw new SkipTest("AVATAR_DRIVER_URL is not set");
            using (var c = new AvatarDriverConnection(new ConnectionOptions
                   { Server = new Uri(Url), Mode = ConnectionMode.Watch, SessionId = "no-such-session",
                     InitialBackoff = TimeSpan.FromMilliseconds(50) }))
            {
                c.Start();
                var sw = Stopwatch.StartNew();
                while (c.State != ConnectionState.Stopped && sw.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(20);
                Check.Equal(ConnectionState.Stopped, c.State, "stopped");
                Check.True(c.Reconnects == 0, $"{c.Reconnects} reconnect attempts");
                Check.True(c.LastError != null && c.LastError.Contains(Wire.CloseCode.UnknownSession.ToString()), c.LastError);
            }
        }

        static System.Collections.Generic.List<AvatarFrame> Collect(AvatarDriverConnection c, int n, TimeSpan timeout)
        {
            var all = new System.Collections.Generic.List<AvatarFrame>();
            var sw = Stopwatch.StartNew();
            while (all.Count < n && sw.Elapsed < timeout)
            {
                AvatarFrame f;
                if (c.Frames.TryTake(out f)) all.Add(f);
                else Thread.Sleep(5);
            }
            return all;
        }
    }

    public sealed class SkipTest : Exception
    {
        public SkipTest(string why) : base(why) { }
    }
}
