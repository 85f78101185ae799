// Generated from server/protocol/constants.py by `avatar-driver vocabulary`. Do not edit.

export const PROTOCOL_VERSION = 1;
/** hello.strategy when none is named. */
export const DEFAULT_STRATEGY = "hybrid";

/** Message types (the envelope's `type`). */
export const MessageType = {
  Hello: "hello",
  VideoFrame: "video_frame",
  AudioChunk: "audio_chunk",
  Configure: "configure",
  CalibrationStart: "calibration_start",
  CalibrationStep: "calibration_step",
  Bye: "bye",
  Resume: "resume",
  Welcome: "welcome",
  AvatarFrame: "avatar_frame",
  EmotionUpdate: "emotion_update",
  Transcript: "transcript",
  Configured: "configured",
  CalibrationResult: "calibration_result",
  SessionPaused: "session_paused",
  Error: "error",
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** Key 0 of a packed envelope: which message it is. */
export const PackedType = {
  AvatarFrame: 1,
} as const;
export type PackedType = (typeof PackedType)[keyof typeof PackedType];

/** Integer keys of a packed envelope. */
export const PackedKey = {
  Type: 0,
  SessionId: 1,
  TimestampMs: 2,
  Sequence: 3,
  Payload: 4,
} as const;
export type PackedKey = (typeof PackedKey)[keyof typeof PackedKey];

/** Integer keys of a packed avatar_frame payload. */
export const PackedFrameKey = {
  Weights: 0,
  Rotations: 1,
  Head: 2,
  Viseme: 3,
  VisemeConf: 4,
  FacePresent: 5,
  CaptureMs: 6,
  Visemes: 7,
  Variant: 8,
} as const;
export type PackedFrameKey = (typeof PackedFrameKey)[keyof typeof PackedFrameKey];

/** A/B variants; packed as their index. */
export const Variant = {
  A: "A",
  B: "B",
} as const;
export type Variant = (typeof Variant)[keyof typeof Variant];

/** WebSocket close codes. */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  Policy: 1008,
  TooBig: 1009,
  InternalError: 1011,
  TryAgain: 1013,
  UnknownSession: 4404,
  Replaced: 4409,
  HelloTimeout: 4408,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** The `code` of an error message. */
export const ErrorCode = {
  BadMessage: "bad_message",
  UnknownType: "unknown_type",
  BadHello: "bad_hello",
  BadConfigure: "bad_configure",
  BadCalibration: "bad_calibration",
  NoHello: "no_hello",
  NoConsent: "no_consent",
  BadImage: "bad_image",
  BadAudio: "bad_audio",
  TooLarge: "too_large",
  RateLimited: "rate_limited",
  ServerBusy: "server_busy",
  ModelMissing: "model_missing",
  InferenceFailed: "inference_failed",
  AuthFailed: "auth_failed",
  TooManyErrors: "too_many_errors",
  HelloTimeout: "hello_timeout",
  InternalError: "internal_error",
  ResumeFailed: "resume_failed",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** A publisher session's life. */
export const SessionState = {
  Created: "created",
  Running: "running",
  Closing: "closing",
  Closed: "closed",
} as const;
export type SessionState = (typeof SessionState)[keyof typeof SessionState];

/** The `state` of a calibration_step from the server. */
export const WizardState = {
  Prepare: "prepare",
  Recording: "recording",
  Accepted: "accepted",
  Rejected: "rejected",
  Done: "done",
  Failed: "failed",
  Cancelled: "cancelled",
} as const;
export type WizardState = (typeof WizardState)[keyof typeof WizardState];

/** The `status` of a calibration_result. */
export const CalibrationStatus = {
  Saved: "saved",
  Failed: "failed",
} as const;
export type CalibrationStatus = (typeof CalibrationStatus)[keyof typeof CalibrationStatus];

/** The calibration wizard's face steps, in the order it runs them. */
export const CALIBRATION_FACE_STEPS = [
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
] as const;

/** Its voice steps (with a microphone), run after the face steps. */
export const CALIBRATION_VOICE_STEPS = [
  "say_aa",
  "say_ee",
  "say_oo",
  "say_oh",
  "say_eh",
  "say_ss",
  "say_ff",
  "hum_mm",
] as const;
