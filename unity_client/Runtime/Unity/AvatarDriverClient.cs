using System;
using AvatarDriver.Protocol;
using UnityEngine;

namespace AvatarDriver
{
    /// <summary>
    /// Drives an avatar from an avatar-driver session: connects on a background thread,
    /// buffers frames against network jitter, and applies blendshapes and bones on the main
    /// thread each Update. Put it on the avatar (or point <see cref="avatarRoot"/> at it).
    /// </summary>
    public sealed class AvatarDriverClient : MonoBehaviour
    {
        [Header("Server")]
        [Tooltip("WebSocket base URL of the avatar-driver server.")]
        public string serverUrl = "ws://127.0.0.1:8000";
        [Tooltip("Watch: follow an existing session (an NPC fed by a user). Publish: open a session yourself (tests).")]
        public ConnectionMode mode = ConnectionMode.Watch;
        [Tooltip("The session to watch (shown in the web viewer's HUD and in the publisher's welcome).")]
        public string sessionId;
        [Tooltip("The server's token, when it requires one (AVATAR_DRIVER_TOKEN).")]
        public string token;
        [Tooltip("packed: ~190 bytes a frame; named: readable, larger.")]
        public string format = "packed";

        [Header("Avatar")]
        [Tooltip("Which blendshapes and bones the channels drive.")]
        public RigProfile profile;
        [Tooltip("The avatar's root (profile paths start here). Defaults to this object.")]
        public Transform avatarRoot;

        [Header("Playback")]
        [Tooltip("How far behind the newest frame to play, against network jitter (ms). About two frame intervals.")]
        [Range(0f, 300f)] public float jitterDelayMs = 50f;
        [Tooltip("Blendshape smoothing time constant (s); 0 = none. The server already smooths; this hides frame steps.")]
        [Range(0f, 0.3f)] public float weightSmoothingS = 0.02f;
        [Tooltip("Bone smoothing time constant (s); 0 = none.")]
        [Range(0f, 0.3f)] public float boneSmoothingS = 0.03f;
        [Tooltip("Log connection events to the console.")]
        public bool verbose;

        AvatarDriverConnection _connection;
        JitterBuffer _buffer;
        FrameSmoother _smoother;
        ResolvedRig _rig;
        Welcome _layout;
        double _playbackMs = double.NaN;

        public ConnectionState State => _connection != null ? _connection.State : ConnectionState.Idle;
        public string LastError => _connection?.LastError;
        public string SessionId => _connection?.Welcome?.SessionId;

        bool _started;

        /// <summary>
        /// Connects on the first Start, not in OnEnable: a script that adds this component
        /// (AddComponent runs Awake and OnEnable at once) sets its fields before Start runs.
        /// </summary>
        void Start()
        {
            _started = true;
            Connect();
        }

        /// <summary>Re-enabling after the first Start connects again.</summary>
        void OnEnable()
        {
            if (_started) Connect();
        }

        void Connect()
        {
            if (profile == null) { Debug.LogWarning("AvatarDriverClient: no RigProfile set", this); enabled = false; return; }
            _buffer = new JitterBuffer(jitterDelayMs);
            _smoother = new FrameSmoother(weightSmoothingS, boneSmoothingS);
            try
            {
                _connection = new AvatarDriverConnection(new ConnectionOptions
                {
                    Server = new Uri(serverUrl), Mode = mode, SessionId = sessionId, Token = string.IsNullOrEmpty(token) ? null : token,
                    Format = format,
                });
            }
            catch (Exception e) when (e is ArgumentException || e is UriFormatException)
            {
                Debug.LogError("AvatarDriverClient: " + e.Message, this);
                enabled = false;
                return;
            }
            if (verbose) _connection.Log += m => Debug.Log(m); // Debug.Log is safe from any thread
            _connection.Start();
        }

        void Update()
        {
            if (_connection == null) return; // not started yet, or refused its settings
            var welcome = _connection.Welcome;
            if (welcome == null) return;
            if (!ReferenceEquals(welcome, _layout)) // a new session layout (first connect or reconnect)
            {
                _rig?.Rest();
                _layout = welcome;
                _rig = new ResolvedRig(profile, avatarRoot != null ? avatarRoot : transform, welcome);
                _buffer = new JitterBuffer(jitterDelayMs);
                _playbackMs = double.NaN;
                if (verbose) Debug.Log($"AvatarDriverClient: {_rig.BoundBlendshapes} blendshapes, {_rig.BoundBones} bones bound");
            }
            _connection.Frames.DrainInto(_buffer);
            if (_connection.Paused)
            {
                _rig.Rest(); // the publisher left; its name's next session sends a new welcome
                _buffer = new JitterBuffer(jitterDelayMs);
                _playbackMs = double.NaN;
                return;
            }
            if (_buffer.Count == 0) return;
            // Playback advances with local time and is pulled toward newest - delay (so it neither drifts nor jumps).
            double target = _buffer.PlaybackMs;
            _playbackMs = double.IsNaN(_playbackMs) ? target : _playbackMs + Time.unscaledDeltaTime * 1000.0;
            _playbackMs += (target - _playbackMs) * 0.1;
            var frame = _buffer.Sample(_playbackMs);
            _smoother.Update(frame, Time.unscaledDeltaTime);
            _rig.ApplyBlendshapes(_smoother.Weights, frame.VisemeWeights);
            _rig.ApplyBones(_smoother.Bones);
        }

        void OnDisable()
        {
            _connection?.Dispose();
            _connection = null;
            _rig?.Rest();
            _rig = null;
            _layout = null;
        }
    }
}
