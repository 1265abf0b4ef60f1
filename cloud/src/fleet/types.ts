/**
 * The fleet: sites and grid cells (网格) that place gateways on the map, one-time enrolment tokens,
 * and each gateway's placement, revocation and credential rotation. Every method returns a Promise
 * so that a PostgreSQL implementation fits the same interface; the conformance suite
 * (test/store/fleet-conformance.ts) is what every implementation must pass.
 */

export interface Location {
  /** WGS 84 degrees. */
  lat: number;
  lon: number;
}

/** [lon, lat] pairs, first and last equal or not (a closed ring is implied). */
export type Polygon = [number, number][];
/** [minLon, minLat, maxLon, maxLat] */
export type BBox = [number, number, number, number];

export interface GridCellDefinition {
  id: string;
  name: string;
  polygon?: Polygon | null | undefined;
  bbox?: BBox | null | undefined;
}

export interface GridCellRecord {
  id: string;
  name: string;
  polygon: Polygon | null;
  bbox: BBox | null;
  createdAt: number;
  updatedAt: number;
}

export interface SiteDefinition {
  id: string;
  name: string;
  location?: Location | null | undefined;
  gridCellId?: string | null | undefined;
  address?: string | null | undefined;
}

export interface SiteRecord {
  id: string;
  name: string;
  location: Location | null;
  gridCellId: string | null;
  address: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface PutResult<T> {
  record: T;
  /** False when an existing record was replaced. */
  created: boolean;
}

export const TOKEN_STATES = ['unused', 'used', 'expired', 'revoked'] as const;
export type TokenState = (typeof TOKEN_STATES)[number];

export interface NewEnrolmentToken {
  /** Public id (lists, revocation); the secret itself is never stored. */
  id: string;
  /** sha256 hex of the secret token (high entropy, so a fast hash is enough). */
  tokenHash: string;
  siteId?: string | undefined;
  gridCellId?: string | undefined;
  /** The gateway must take exactly this id (and may be a revoked gateway being re-enrolled). */
  gatewayId?: string | undefined;
  /** The gateway's id must start with this. */
  gatewayIdPrefix?: string | undefined;
  note?: string | undefined;
  createdAt: number;
  createdBy: string;
  expiresAt: number;
}

export interface EnrolmentTokenRecord {
  id: string;
  siteId: string | null;
  gridCellId: string | null;
  gatewayId: string | null;
  gatewayIdPrefix: string | null;
  note: string | null;
  createdAt: number;
  createdBy: string;
  expiresAt: number;
  /** 'expired' is derived from expiresAt and the time of the query. */
  state: TokenState;
  usedAt: number | null;
  /** The gateway that used it. */
  usedBy: string | null;
  revokedAt: number | null;
  revokedBy: string | null;
}

export interface EnrolmentTokenFilter {
  state?: TokenState | undefined;
  siteId?: string | undefined;
}

export interface EnrolInput {
  tokenHash: string;
  /** The id the gateway asks for; otherwise the token's preset id, or one generated (see chooseGatewayId). */
  gatewayId?: string | undefined;
  name?: string | undefined;
  hardware?: Record<string, unknown> | undefined;
  /** hashSecret() of the new password. */
  passwordHash: string;
  at: number;
}

export interface EnrolResult {
  gatewayId: string;
  token: EnrolmentTokenRecord;
  /** True when a revoked gateway got its identity back (new password, revocation cleared). */
  reEnrolled: boolean;
}

/** A gateway's place in the fleet and the state of its credentials (never a hash). */
export interface GatewayFleetInfo {
  gatewayId: string;
  siteId: string | null;
  siteName: string | null;
  /** The site's grid cell, else the one the gateway was enrolled into directly. */
  gridCellId: string | null;
  location: Location | null;
  hardware: Record<string, unknown> | null;
  enrolledAt: number | null;
  revoked: { at: number; by: string; reason: string } | null;
  /** When a credential rotation is waiting for the gateway to connect with its new password. */
  rotationPendingSince: number | null;
  rotatedAt: number | null;
}

export const GATEWAY_FLEET_STATUSES = ['online', 'offline', 'revoked'] as const;
export type GatewayFleetStatus = (typeof GATEWAY_FLEET_STATUSES)[number];

export interface GatewayFleetFilter {
  siteId?: string | undefined;
  gridCellId?: string | undefined;
  /** online and offline exclude revoked gateways. */
  status?: GatewayFleetStatus | undefined;
  /** Gateways with at least one (not removed) device of this kind. */
  deviceKind?: string | undefined;
  /** Case-insensitive substring of the gateway's id or name, or its site's name or address. */
  q?: string | undefined;
}

/** What the broker needs to authenticate a gateway. */
export interface GatewayCredentialState {
  passwordHash: string;
  /** The new password's hash during a rotation: both are accepted until the gateway uses the new one. */
  pendingPasswordHash: string | null;
  revoked: boolean;
}

export interface FleetStore {
  // ---- grid cells and sites -------------------------------------------------------------
  putGridCell(cell: GridCellDefinition, at?: number): Promise<PutResult<GridCellRecord>>;
  getGridCell(id: string): Promise<GridCellRecord | undefined>;
  /** By id. */
  listGridCells(): Promise<GridCellRecord[]>;
  /** False when unknown; throws FleetConflictError while a site, gateway or token refers to it. */
  deleteGridCell(id: string): Promise<boolean>;
  /** Throws UnknownFleetRecordError for an unknown grid cell. */
  putSite(site: SiteDefinition, at?: number): Promise<PutResult<SiteRecord>>;
  getSite(id: string): Promise<SiteRecord | undefined>;
  /** By id. */
  listSites(filter?: { gridCellId?: string | undefined }): Promise<SiteRecord[]>;
  /** False when unknown; throws FleetConflictError while a gateway or token refers to it. */
  deleteSite(id: string): Promise<boolean>;

  // ---- enrolment tokens -----------------------------------------------------------------
  /** Throws UnknownFleetRecordError for an unknown site or grid cell. */
  createEnrolmentToken(token: NewEnrolmentToken): Promise<EnrolmentTokenRecord>;
  getEnrolmentToken(id: string, now?: number): Promise<EnrolmentTokenRecord | undefined>;
  /** Newest first. */
  listEnrolmentTokens(filter?: EnrolmentTokenFilter, now?: number): Promise<EnrolmentTokenRecord[]>;
  /** Throws UnknownFleetRecordError, or FleetConflictError for a token already used. Revoking twice is a no-op. */
  revokeEnrolmentToken(id: string, by: string, at: number): Promise<EnrolmentTokenRecord>;
  /**
   * Uses a token: in one transaction checks it, creates the gateway (or re-enables the revoked
   * gateway the token names), places it on the token's site or grid cell and marks the token used.
   * Throws EnrolmentRefusedError and changes nothing when the token is unknown, used, expired or
   * revoked, or the gateway id does not fit. Of two concurrent uses exactly one succeeds.
   */
  enrol(input: EnrolInput): Promise<EnrolResult>;

  // ---- gateways ---------------------------------------------------------------------------
  gatewayFleet(gatewayId: string): Promise<GatewayFleetInfo | undefined>;
  /** Every registered gateway matching the filter (with null placement when it has none), by id. */
  listGatewayFleet(filter?: GatewayFleetFilter): Promise<GatewayFleetInfo[]>;
  /** Throws UnknownGatewayError, or UnknownFleetRecordError for an unknown site or grid cell. */
  placeGateway(gatewayId: string, placement: { siteId?: string | null | undefined; gridCellId?: string | null | undefined }): Promise<GatewayFleetInfo>;
  /** Marks revoked (and abandons a pending rotation). Throws UnknownGatewayError; revoking twice keeps the first. */
  revokeGateway(gatewayId: string, by: string, reason: string, at: number): Promise<GatewayFleetInfo>;
  gatewayCredentials(gatewayId: string): Promise<GatewayCredentialState | undefined>;
  /** Starts (or restarts) a rotation. Throws UnknownGatewayError. */
  beginRotation(gatewayId: string, pendingPasswordHash: string, at: number): Promise<void>;
  /** Abandons the rotation if `pendingPasswordHash` is still the pending one. */
  cancelRotation(gatewayId: string, pendingPasswordHash: string): Promise<void>;
  /**
   * The gateway connected with the pending password: it becomes the only one. False (and nothing
   * changes) when that hash is no longer pending.
   */
  completeRotation(gatewayId: string, pendingPasswordHash: string, at: number): Promise<boolean>;
}

export type EnrolmentRefusal = 'unknown' | 'used' | 'expired' | 'revoked' | 'gateway-id' | 'gateway-exists';

/** A token that cannot be used, or a gateway id the token does not allow; nothing was changed. */
export class EnrolmentRefusedError extends Error {
  override readonly name = 'EnrolmentRefusedError';
  constructor(
    readonly reason: EnrolmentRefusal,
    message: string,
  ) {
    super(message);
  }
}

export class UnknownFleetRecordError extends Error {
  override readonly name = 'UnknownFleetRecordError';
}

/** The change conflicts with the records' state (a site still in use, a used token revoked). */
export class FleetConflictError extends Error {
  override readonly name = 'FleetConflictError';
}
