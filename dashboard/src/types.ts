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
    disk?: { freeBytes: number; totalBytes: number };
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
  /** Where a technician placed it (PUT .../devices/{id}/placement); null when not placed. */
  location?: (LatLon & { bearing?: number | null; note?: string | null; placedAt?: number; placedBy?: string }) | null;
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

/** GET /api/v1/gateways/:id/fleet, and the same fields on each gateway of GET /api/v1/gateways. */
export interface GatewayFleet {
  site: string | null;
  siteName: string | null;
  gridCell: string | null;
  location: LatLon | null;
  hardware: Record<string, unknown> | null;
  enrolledAt: number | null;
  revoked: { at: number; by: string; reason: string } | null;
  rotationPendingSince: number | null;
  rotatedAt: number | null;
}

export type FleetGateway = Gateway & Partial<GatewayFleet>;

export interface Site {
  id: string;
  name: string;
  location: LatLon | null;
  gridCellId: string | null;
  address: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface GridCell {
  id: string;
  name: string;
  polygon: [number, number][] | null;
  bbox: [number, number, number, number] | null;
  createdAt: number;
  updatedAt: number;
}

export interface EnrolmentToken {
  id: string;
  siteId: string | null;
  gridCellId: string | null;
  gatewayId: string | null;
  gatewayIdPrefix: string | null;
  note: string | null;
  createdAt: number;
  createdBy: string;
  expiresAt: number;
  state: 'unused' | 'used' | 'expired' | 'revoked';
  usedAt: number | null;
  usedBy: string | null;
  revokedAt: number | null;
  revokedBy: string | null;
}

export interface ManagedConfig {
  devices: Record<string, unknown>[];
  telemetryIntervalS?: number;
}

export interface ConfigShadow {
  desired: { version: number; sha256: string; config: ManagedConfig; setBy: string; setAt: number; outcome: 'pending' | 'applied' | 'rejected' } | null;
  reported: { version: number; sha256: string; source: 'cloud' | 'local'; at: number; receivedAt: number; config?: ManagedConfig } | null;
  inSync: boolean;
  lastError?: { version: number; code: string; message: string; at: number };
}

export interface ConfigHistoryEntry {
  at: number;
  kind: 'desired' | 'applied' | 'rejected' | 'reported';
  version: number;
  sha256: string | null;
  actor: string | null;
  source: 'cloud' | 'local' | null;
  error: { code: string; message: string } | null;
}

export interface UserRecord {
  username: string;
  name: string | null;
  role: 'admin' | 'controller' | 'technician' | 'viewer';
  disabled: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface ApiToken {
  id: string;
  username: string;
  name: string | null;
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
  revokedAt: number | null;
  active: boolean;
}

export interface UpdateBundle {
  id: string;
  version: string;
  keyId: string;
  bundleSha256: string;
  size: number;
  createdAt: number;
  createdBy: string;
}

export interface Rollout {
  id: string;
  updateId: string;
  version: string;
  state: 'running' | 'completed' | 'aborted';
  reason: string | null;
  maxConcurrent: number;
  perMinute: number | null;
  abortAfterFailures: number | null;
  abortAfterPercent: number | null;
  createdAt: number;
  createdBy: string;
  finishedAt: number | null;
  counts: Record<string, number>;
}

export interface RolloutDetail extends Rollout {
  targets: { gatewayId: string; state: string; reason: string | null; startedAt: number | null; updatedAt: number }[];
}
