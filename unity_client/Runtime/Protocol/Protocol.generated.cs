// Generated from server/protocol/constants.py by `avatar-driver vocabulary`. Do not edit.
namespace AvatarDriver.Protocol
{
    /// <summary>Every wire constant of the protocol (docs/protocol.md).</summary>
    public static class Wire
    {
        /// <summary>The protocol version this client speaks.</summary>
        public const int ProtocolVersion = 1;
        /// <summary>hello.strategy when none is named.</summary>
        public const string DefaultStrategy = "hybrid";

        /// <summary>Message types (the envelope's `type`).</summary>
        public static class MessageType
        {
            public const string Hello = "hello";
            public const string VideoFrame = "video_frame";
            public const string AudioChunk = "audio_chunk";
            public const string Configure = "configure";
            public const string CalibrationStart = "calibration_start";
            public const string CalibrationStep = "calibration_step";
            public const string Bye = "bye";
            public const string Resume = "resume";
            public const string Welcome = "welcome";
            public const string AvatarFrame = "avatar_frame";
            public const string EmotionUpdate = "emotion_update";
            public const string Transcript = "transcript";
            public const string Configured = "configured";
            public const string CalibrationResult = "calibration_result";
            public const string SessionPaused = "session_paused";
            public const string Error = "error";
        }

        /// <summary>Key 0 of a packed envelope: which message it is.</summary>
        public static class PackedType
        {
            public const int AvatarFrame = 1;
        }

        /// <summary>Integer keys of a packed envelope.</summary>
        public static class PackedKey
        {
            public const int Type = 0;
            public const int SessionId = 1;
            public const int TimestampMs = 2;
            public const int Sequence = 3;
            public const int Payload = 4;
        }

        /// <summary>Integer keys of a packed avatar_frame payload.</summary>
        public static class PackedFrameKey
        {
            public const int Weights = 0;
            public const int Rotations = 1;
            public const int Head = 2;
            public const int Viseme = 3;
            public const int VisemeConf = 4;
            public const int FacePresent = 5;
            public const int CaptureMs = 6;
            public const int Visemes = 7;
            public const int Variant = 8;
        }

        /// <summary>A/B variants; packed as their index.</summary>
        public static class Variant
        {
            public const string A = "A";
            public const string B = "B";
        }

        /// <summary>WebSocket close codes.</summary>
        public static class CloseCode
        {
            public const int Normal = 1000;
            public const int GoingAway = 1001;
            public const int Policy = 1008;
            public const int TooBig = 1009;
            public const int InternalError = 1011;
            public const int TryAgain = 1013;
            public const int UnknownSession = 4404;
            public const int Replaced = 4409;
            public const int HelloTimeout = 4408;
        }

        /// <summary>The `code` of an error message.</summary>
        public static class ErrorCode
        {
            public const string BadMessage = "bad_message";
            public const string UnknownType = "unknown_type";
            public const string BadHello = "bad_hello";
            public const string BadConfigure = "bad_configure";
            public const string BadCalibration = "bad_calibration";
            public const string NoHello = "no_hello";
            public const string NoConsent = "no_consent";
            public const string BadImage = "bad_image";
            public const string BadAudio = "bad_audio";
            public const string TooLarge = "too_large";
            public const string RateLimited = "rate_limited";
            public const string ServerBusy = "server_busy";
            public const string ModelMissing = "model_missing";
            public const string InferenceFailed = "inference_failed";
            public const string AuthFailed = "auth_failed";
            public const string TooManyErrors = "too_many_errors";
            public const string HelloTimeout = "hello_timeout";
            public const string InternalError = "internal_error";
            public const string ResumeFailed = "resume_failed";
        }

        /// <summary>A publisher session's life.</summary>
        public static class SessionState
        {
            public const string Created = "created";
            public const string Running = "running";
            public const string Closing = "closing";
            public const string Closed = "closed";
        }

        /// <summary>The `state` of a calibration_step from the server.</summary>
        public static class WizardState
        {
            public const string Prepare = "prepare";
            public const string Recording = "recording";
            public const string Accepted = "accepted";
            public const string Rejected = "rejected";
            public const string Done = "done";
            public const string Failed = "failed";
            public const string Cancelled = "cancelled";
        }

        /// <summary>The `status` of a calibration_result.</summary>
        public static class CalibrationStatus
        {
            public const string Saved = "saved";
            public const string Failed = "failed";
        }

        /// <summary>The calibration wizard's face steps, in the order it runs them.</summary>
        public static readonly string[] CalibrationFaceSteps =
        {
            "neutral",
            "smile",
            "brows_up",
            "frown",
            "nose_wrinkle",
            "jaw_open",
            "pucker",
            "cheek_puff",
            "eyes_closed",
            "look_left",
            "look_right",
            "look_up",
            "look_down",
        };

        /// <summary>Its voice steps (with a microphone), run after the face steps.</summary>
        public static readonly string[] CalibrationVoiceSteps =
        {
            "say_aa",
            "say_ee",
            "say_oo",
            "say_oh",
            "say_eh",
            "say_ss",
            "say_ff",
            "hum_mm",
        };
    }
}
