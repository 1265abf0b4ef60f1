export * from './config/index.js';
export * from './outbox/index.js';
export { EdgeAgent, readingsPath, CAMERA_COMMANDS, type AgentOptions, type AgentStatus } from './agent.js';
export { LocalReadings, type LocalReading } from './readings/local-readings.js';
export { CloudLink, type CloudLinkOptions, type LinkStats } from './link/cloud-link.js';
export { enrolGateway, type EnrolOptions, type Enrolled } from './enrolment/enrol.js';
export { DevicePoller, type PollerStatus } from './devices/poller.js';
export { EventBus, type BusEvents, type Extension } from './events/bus.js';
export { AGENT_VERSION } from './version.js';
export { CommandRouter, CommandError, type CommandHandler } from './link/command-router.js';
export { HealthTracker, UNREACHABLE_CODES, type HealthChange } from './devices/health.js';
export { arbitrate, outranks, type Arbitration } from './signs/arbitration.js';
export { SqliteActiveSet, TERMINAL_STATES, type ActiveSet, type ActiveEntry, type NewEntry, type EntryReport, type EntryState, type EntryOrigin } from './signs/active-set.js';
export { MemoryActiveSet } from './signs/memory-active-set.js';
export { ScreenController, type ScreenControllerOptions, type ScreenSettings, type ScreenStatus } from './signs/screen-controller.js';
export { SignCommands, SIGN_COMMANDS, type ScreenRegistry } from './signs/sign-commands.js';
export { createSignDriver } from './signs/sign-driver.js';
export { CameraPipeline, VIDEO_DEFAULTS, type CameraPipelineOptions, type CameraStatus } from './video/camera-pipeline.js';
export { StreamIngest, FrameAssembler, classifyFfmpegError, decodeFilters, type IngestOptions, type IngestState, type IngestStats, type StreamProblem } from './video/ingest.js';
export { OnvifCamera, OnvifError, discover, deviceServiceUrl, classifyOnvifFailure, type DiscoveredCamera, type OnvifDeviceInfo, type OnvifProfile, type OnvifConnectOptions, type OnvifErrorCode } from './video/onvif.js';
export { SnapshotStore, SnapshotRateLimit, renderSnapshot, snapshotRef, SNAPSHOT_ID, type SnapshotOverlay, type RenderedSnapshot } from './video/snapshots.js';
export { withCredentials, withoutCredentials, redact } from './video/credentials.js';
export { FrameAnalysis, FRAME_DEFAULTS, type FrameAnalysisOptions, type FrameResult, type FrameTimings } from './video/frame-analysis.js';
export {
  createOnnxDetector,
  FASTESTDET_SHA256,
  ModelError,
  checkAnalyticsConfig,
  packedToPlanar,
  type AnalyticsConfig,
  type Detector,
  type DetectorOptions,
  type RgbFrame,
} from './video/analytics/index.js';
export { packFirmware, deviceFirmware, FIRMWARE_COMMANDS, type FirmwareAgent, type PausedDevice } from './update/device-firmware.js';
