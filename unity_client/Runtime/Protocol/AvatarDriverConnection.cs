using System;
using System.Collections.Generic;
using System.IO;
using System.Net.WebSockets;
using System.Threading;
using System.Threading.Tasks;
using AvatarDriver.Protocol.Cbor;

namespace AvatarDriver.Protocol
{
    public enum ConnectionMode
    {
        /// <summary>Receive an existing session's frames (an NPC driven by a user's session).</summary>
        Watch,
        /// <summary>Open a session with a hello (no camera or microphone): frames at rest, for tests.</summary>
        Publish,
    }

    public sealed class ConnectionOptions
    {
        public Uri Server = new Uri("ws://127.0.0.1:8000");
        public ConnectionMode Mode = ConnectionMode.Watch;
        public string SessionId; // Watch mode
        public string Token;
        public string Format = "packed"; // "packed" (small) or "named"
        public string Rig = "arkit52"; // Publish mode
        public double RateHz = 60;
        public TimeSpan InitialBackoff = TimeSpan.FromSeconds(0.5);
        public TimeSpan MaxBackoff = TimeSpan.FromSeconds(10);
        public int MaxMessageBytes = 1 << 20;
    }

    public enum ConnectionState { Idle, Connecting, Open, Backoff, Stopped }

    /// <summary>
    /// The WebSocket client: one background task connects, reads and decodes, and hands
    /// frames to the main thread through <see cref="Frames"/> (lock-free). It reconnects
    /// after any failure with exponential backoff (reset by each welcome). Nothing here
    /// touches UnityEngine.
    /// </summary>
    public sealed class AvatarDriverConnection : IDisposable
    {
        readonly ConnectionOptions _options;
        readonly CancellationTokenSource _stop = new CancellationTokenSource();
        Task _task;
        volatile Welcome _welcome;
        volatile bool _paused;
        volatile string _lastError;
        int _state;
        long _framesReceived, _reconnects;

        public AvatarDriverConnection(ConnectionOptions options)
        {
            _options = options ?? throw new ArgumentNullException(nameof(options));
            if (options.Mode == ConnectionMode.Watch && string.IsNullOrEmpty(options.SessionId))
                throw new ArgumentException("watch mode needs a session id");
            Frames = new FrameInbox();
        }

        public FrameInbox Frames { get; }
        public Welcome Welcome => _welcome;
        /// <summary>True while a watched named session's publisher is away (session_paused):
        /// rest the avatar; the next welcome (possibly with another rig layout) resumes.</summary>
        public bool Paused => _paused;
        public string LastError => _lastError;
        public ConnectionState State => (ConnectionState)Volatile.Read(ref _state);
        public long FramesReceived => Interlocked.Read(ref _framesReceived);
        public long Reconnects => Interlocked.Read(ref _reconnects);

        /// <summary>Any thread: diagnostics (connects, errors, backoff).</summary>
        public event Action<string> Log;

        public void Start()
        {
            if (_task != null) throw new InvalidOperationException("already started");
            _task = Task.Run(() => RunAsync(_stop.Token));
        }

        public Uri Endpoint()
        {
            var b = new UriBuilder(_options.Server);
            var basePath = b.Path.TrimEnd('/');
            if (_options.Mode == ConnectionMode.Publish)
            {
                b.Path = basePath + "/v1/stream";
                b.Query = string.Empty;
            }
            else
            {
                b.Path = basePath + "/v1/sessions/" + Uri.EscapeDataString(_options.SessionId) + "/watch";
                var q = "format=" + _options.Format + "&encoding=cbor";
                if (_options.Token != null) q += "&token=" + Uri.EscapeDataString(_options.Token);
                b.Query = q;
            }
            return b.Uri;
        }

        async Task RunAsync(CancellationToken stop)
        {
            var backoff = _options.InitialBackoff;
            while (!stop.IsCancellationRequested)
            {
                SetState(ConnectionState.Connecting);
                bool welcomed = false;
                try
                {
                    using (var ws = new ClientWebSocket())
                    {
                        await ws.ConnectAsync(Endpoint(), stop).ConfigureAwait(false);
                        if (_options.Mode == ConnectionMode.Publish) await SendHello(ws, stop).ConfigureAwait(false);
                        SetState(ConnectionState.Open);
                        while (ws.State == WebSocketState.Open && !stop.IsCancellationRequested)
                        {
                            var message = await Receive(ws, stop).ConfigureAwait(false);
                            if (message == null) break;
                            welcomed |= Handle(message);
                            if (welcomed) backoff = _options.InitialBackoff;
                        }
                        if (ws.State == WebSocketState.CloseReceived)
                        {
                            _lastError = $"server closed the connection ({(int?)ws.CloseStatus} {ws.CloseStatusDescription})";
                            if (IsFinal((int?)ws.CloseStatus)) break; // retrying cannot help
                        }
                    }
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested) { break; }
                catch (Exception e) when (e is WebSocketException || e is IOException || e is ProtocolException
                                          || e is CborException || e is InvalidOperationException)
                {
                    _lastError = e.Message;
                    Log?.Invoke("avatar-driver: " + e.Message);
                }
                if (stop.IsCancellationRequested) break;
                SetState(ConnectionState.Backoff);
                Interlocked.Increment(ref _reconnects);
                Log?.Invoke($"avatar-driver: reconnecting in {backoff.TotalSeconds:F1} s");
                try { await Task.Delay(backoff, stop).ConfigureAwait(false); }
                catch (OperationCanceledException) { break; }
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _options.MaxBackoff.Ticks));
            }
            SetState(ConnectionState.Stopped);
        }

        /// <summary>Close codes after which reconnecting cannot succeed: a refused origin or
        /// token, too many bad messages, a session that does not exist.</summary>
        public static bool IsFinal(int? closeCode) =>
            closeCode == Wire.CloseCode.Policy || closeCode == Wire.CloseCode.UnknownSession;

        /// <summary>True for a welcome.</summary>
        bool Handle(byte[] message)
        {
            var envelope = Messages.ReadEnvelope(message);
            switch (envelope.Type)
            {
                case Wire.MessageType.Welcome:
                    _welcome = Messages.ReadWelcome(envelope);
                    _paused = false;
                    Log?.Invoke($"avatar-driver: session {_welcome.SessionId}, {_welcome.Channels.Length} channels");
                    return true;
                case Wire.MessageType.AvatarFrame:
                    var layout = _welcome ?? throw new ProtocolException("avatar_frame before welcome");
                    Frames.Post(Messages.ReadAvatarFrame(envelope, layout));
                    Interlocked.Increment(ref _framesReceived);
                    return false;
                case Wire.MessageType.SessionPaused:
                    _paused = true;
                    Log?.Invoke("avatar-driver: the watched session's publisher is away; waiting for it");
                    return false;
                case Wire.MessageType.Error:
                    object text;
                    _lastError = envelope.Payload.TryGet("message", out text) ? text as string : "error";
                    Log?.Invoke("avatar-driver: server error: " + _lastError);
                    return false;
                default:
                    return false; // emotion_update, transcript, ...: not needed to drive a rig
            }
        }

        async Task SendHello(ClientWebSocket ws, CancellationToken stop)
        {
            var hello = new Dictionary<string, object>
            {
                { "type", Wire.MessageType.Hello }, { "session_id", null }, { "timestamp_ms", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() },
                { "sequence", 0 },
                { "payload", new Dictionary<string, object> {
                    { "consent", new Dictionary<string, object> { { "camera", false }, { "microphone", false } } },
                    { "rig", _options.Rig }, { "format", _options.Format }, { "rate_hz", _options.RateHz },
                    { "token", _options.Token } } },
            };
            var bytes = CborWriter.Encode(hello);
            await ws.SendAsync(new ArraySegment<byte>(bytes), WebSocketMessageType.Binary, true, stop).ConfigureAwait(false);
        }

        async Task<byte[]> Receive(ClientWebSocket ws, CancellationToken stop)
        {
            var buffer = new byte[16 * 1024];
            using (var ms = new MemoryStream())
            {
                while (true)
                {
                    var r = await ws.ReceiveAsync(new ArraySegment<byte>(buffer), stop).ConfigureAwait(false);
                    if (r.MessageType == WebSocketMessageType.Close) return null;
                    ms.Write(buffer, 0, r.Count);
                    if (ms.Length > _options.MaxMessageBytes)
                        throw new ProtocolException($"a message over {_options.MaxMessageBytes} bytes");
                    if (!r.EndOfMessage) continue;
                    if (r.MessageType == WebSocketMessageType.Binary) return ms.ToArray();
                    ms.SetLength(0); // a text (JSON) message: this client asked for CBOR, skip it
                }
            }
        }

        void SetState(ConnectionState s) => Volatile.Write(ref _state, (int)s);

        public void Dispose()
        {
            _stop.Cancel();
            try { _task?.Wait(TimeSpan.FromSeconds(2)); }
            catch (AggregateException) { }
            _stop.Dispose();
        }
    }
}
