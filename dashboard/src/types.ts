/** The shapes of the cloud API's answers that the dashboard reads (see GET /openapi.json). */
export interface Gateway {
  id: string;
  name: string | null;
  online: boolean;
  lastSeen: number | null;
  agentVersion?: string | null;
  site?: string | null;
  location?: LatLon | null;
  telemetry?: {
    uptimeS?: number;
    cpuPercent?: number;
    memRssBytes?: number;
    outbox?: { depth: number; lastSeq: number };
    link?: { reconnects: number; ackRttMs: number | null };
  } | null;
  telemetryAt?: number | null;
  streams?: { stream: string; lastSeq: number; updatedAt?: number }[];
}

export interface LatLon {
  lat: number;
  lon: number;
}

export interface Diagnostic {
  lane: number | null;
  condition: string;
  since: number;
  detail: string;
}

export interface Device {
  gatewayId: string;
  deviceId: string;
  profile: string | null;
  kind: string | null;
  name: string | null;
  endpoint: string | null;
  state: string | null;
  lastError: { code: string; message: string } | null;
  removed: boolean;
  updatedAt: number | null;
  diagnostics: Diagnostic[];
  location?: LatLon | null;
  site?: string | null;
}

export interface DetectorHealth extends Device {
  lastPeriodStart: number | null;
  healthy: boolean;
}

export interface Grade {
  code: number;
  name: string;
  nameZh: string;
}

export interface Segment {
  id: string;
  name: string | null;
  roadClass: string;
  lanes: { gatewayId: string; deviceId: string; lane: number }[];
  state: { periodStart: number; volume: number; occupancy: number | null; speed: number | null; grade: Grade | null } | null;
}

export interface Period {
  lane: number;
  periodStart: number;
  periodS: number;
  volume: number;
  flow: number;
  occupancy: number | null;
  speed: number | null;
  completeness: number;
}

export interface StoredEvent {
  gatewayId: string;
  stream: string;
  seq: number;
  ts: number;
  type: string;
  device: string | null;
  data: unknown;
  receivedAt: number;
}

export interface Message {
  id: string;
  multi: string;
  crc: number;
  priority: number;
  startAt: number;
  endAt: number | null;
  createdAt: number;
  source: 'operator' | 'auto';
  targets: Targets;
  note: string | null;
  createdBy: string;
  cancelledAt: number | null;
}

export interface Targets {
  screens?: string[];
  groups?: string[];
  segments?: string[];
  corridors?: string[];
  all?: boolean;
}

export interface Dispatch {
  id: string;
  messageId: string;
  gatewayId: string;
  deviceId: string;
  state: string;
  reason: string | null;
  readbackCrc: number | null;
  updatedAt: number;
}

export interface Screen {
  gatewayId: string;
  deviceId: string;
  key: string;
  profile: string | null;
  name: string | null;
  groups: string[];
  segment: string | null;
  corridor: string | null;
  location: LatLon | null;
  state: string;
  condition: { doorOpen: boolean; powerFault: boolean; controllerFault: boolean; pixelFailures: number; displayedCrc: number } | null;
  displayed: Message | null;
}

export interface Camera extends Device {
  camera: { manufacturer?: string; model?: string; firmware?: string } | null;
  pipeline: { state: string; reason: string | null; analysedFps: number; since: number } | null;
  lastEventAt: number | null;
  gatewayOnline: boolean;
  healthy: boolean;
}

export interface VideoEvent {
  id: number;
  gatewayId: string;
  deviceId: string;
  ts: number;
  type: string;
  data: { line?: string; lane?: number; direction?: string; kind?: string; label?: string; score?: number; box?: number[]; alert?: string; [f: string]: unknown };
  snapshotId: string | null;
  thumbnailUrl: string | null;
  snapshotUrl: string | null;
}

export interface AuditEntry {
  id: number;
  at: number;
  actor: string;
  action: string;
  subject: string;
  details: unknown;
}

export interface PreviewResult {
  profile: string;
  multi: string | null;
  crc: number | null;
  problems: { page: number; line?: number; code: string; message: string }[];
  pages: string[];
}
