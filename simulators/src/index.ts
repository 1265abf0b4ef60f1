export {
  startLoopCardSimulator,
  DEFAULT_LOOP_CARD_PROFILE,
  type LoopCardOptions,
  type LoopCardSimulator,
} from './loop-card/simulator.js';
export {
  type CardOptions,
  type LoopCardControls,
  type LoopCardTruth,
  type LaneCounts,
  type TrafficTuning,
} from './loop-card/card.js';
export {
  startLoopCardBus,
  type LoopCardBus,
  type LoopCardBusOptions,
  type LoopCardBusTransport,
  type ResolvedBusTransport,
} from './loop-card/bus.js';
export {
  checkFault,
  COMM_FAULT_KINDS,
  LANE_FAULT_KINDS,
  FAULT_KINDS,
  type LoopCardFault,
  type LoopCardFaultKind,
  type CommFault,
  type LaneFault,
  type LaneFaultKind,
  type CardTransport,
} from './loop-card/faults.js';
export { checkPeriodS, type TruthPeriod, type PeriodLaneTruth, type PeriodStats, type PeriodRange } from './loop-card/periods.js';
export { type LaneStats } from './loop-card/lane-stats.js';
export { checkScenario, parseScenarioJson, type ScenarioEvent, type IncidentEvent } from './loop-card/scenario.js';
export { DemandCurve, formatClock, type TimeOfDayProfile } from './loop-card/time-of-day.js';
export {
  TrafficModel,
  DEFAULT_TRAFFIC,
  LENGTH_CLASSES,
  type TrafficParams,
  type TrafficOptions,
  type Vehicle,
  type LengthClass,
  type ClassCounts,
} from './loop-card/traffic.js';
export { startControlServer, type ControlServer, type ControlledCard } from './loop-card/control.js';
export { ModbusTcpServer, type ModbusTcpServerOptions } from './modbus/tcp-server.js';
export { RtuSerialServer, interFrameSilenceMs, type RtuSerialServerOptions } from './modbus/serial-server.js';
export { RtuReceiver, rtuRequestLength } from './modbus/rtu-receiver.js';
export type { ServerReply, ServerRequest, RequestHandler } from './modbus/reply.js';
export { SimClock } from './sim-clock.js';
export { createRandom, deriveSeed, type Random } from './random.js';
export { openSerialCable, type SerialCable } from './serial-cable.js';
export { startControlHttp, HttpError, RawReply, type ControlServer as HttpControlServer } from './control-http.js';
export {
  VmsScreen,
  NO_FAULTS,
  checkFaults,
  type VmsFaults,
  type ShownMessage,
  type ActivationResult,
  type ScreenStatus,
  type VmsScreenOptions,
} from './vms/screen.js';
export { createInProcessSignDriver } from './vms/in-process-driver.js';
export { startVmsSimulator, loadVmsProfile, type VmsSimulator, type VmsSimulatorOptions, type VmsWire } from './vms/simulator.js';
export { startVmsControlServer } from './vms/control.js';
export { ModbusSignRegisters } from './vms/modbus-sign.js';
export { MqttSign } from './vms/mqtt-sign.js';
export * from './rtsp/index.js';
export {
  startCameraSimulator,
  DEFAULT_CAMERA_CREDENTIALS,
  CAMERA_MANUFACTURER,
  CAMERA_MODEL,
  RTSP_PATH,
  type CameraSimulator,
  type CameraSimulatorOptions,
  type CameraFaults,
  type CameraFaultRequest,
} from './camera/simulator.js';
export {
  RoadScene,
  type RoadSceneOptions,
  type TruthCrossing,
  type TruthEvent,
  type TruthVehicle,
  type SceneTruth,
  type FrameObject,
  type RenderedFrame,
} from './camera/scene.js';
export { RoadGeometry, insidePolygon, type SceneLine, type SceneZone, type LaneDirection, type Point } from './camera/road-geometry.js';
export { checkSceneScenario, scenarioPreset, SCENE_SCENARIOS, type SceneScenarioEvent, type SceneScenarioName } from './camera/scenario.js';
export { scoreCrossings, type ScoredCrossing, type CrossingScore, type LaneScore } from './camera/crossing-score.js';
export { SpriteLibrary, SPRITES, DEFAULT_IMAGERY_DIR, type SpriteSpec } from './camera/sprites.js';
export { startOnvifServer, SERVICE_PATHS, SNAPSHOT_PATH, type OnvifServer, type OnvifServerOptions } from './camera/onvif/server.js';
export { startDiscoveryResponder, stableUuid, WS_DISCOVERY_MULTICAST, WS_DISCOVERY_PORT, type DiscoveryResponder, type DiscoveryOptions } from './camera/onvif/discovery.js';
export { passwordDigest, UsernameTokenVerifier, type Credentials as OnvifCredentials } from './camera/onvif/ws-security.js';
export { startCameraControlServer, checkCameraFaults } from './camera/control.js';
export { SHARED_MODELS_DIR, FASTESTDET_MODEL_PATH, SAMPLES_DIR } from './shared-models.js';
export { FirmwareUpdater, type FirmwareFaults, type FirmwareUpdaterOptions } from './firmware/block-transfer.js';
