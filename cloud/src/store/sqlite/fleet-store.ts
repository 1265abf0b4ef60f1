/** The FleetStore on the cloud's SQLite database (the same connection as the CloudStore). */
import type Database from 'better-sqlite3';
import { chooseGatewayId } from '../../fleet/gateway-id.js';
import {
  EnrolmentRefusedError,
  FleetConflictError,
  UnknownFleetRecordError,
  type BBox,
  type EnrolInput,
  type EnrolmentTokenFilter,
  type EnrolmentTokenRecord,
  type EnrolResult,
  type FleetStore,
  type GatewayCredentialState,
  type GatewayFleetFilter,
  type GatewayFleetInfo,
  type GridCellDefinition,
  type GridCellRecord,
  type NewEnrolmentToken,
  type Polygon,
  type PutResult,
  type SiteDefinition,
  type SiteRecord,
  type TokenState,
} from '../../fleet/types.js';
import { UnknownGatewayError } from '../types.js';
import { locationOf } from './location-columns.js';

interface GridCellRow {
  id: string;
  name: string;
  polygon: string | null;
  bbox: string | null;
  created_at: number;
  updated_at: number;
}

interface SiteRow {
  id: string;
  name: string;
  lat: number | null;
  lon: number | null;
  grid_cell_id: string | null;
  address: string | null;
  created_at: number;
  updated_at: number;
}

interface TokenRow {
  id: string;
  site_id: string | null;
  grid_cell_id: string | null;
  gateway_id: string | null;
  gateway_id_prefix: string | null;
  note: string | null;
  created_at: number;
  created_by: string;
  expires_at: number;
  used_at: number | null;
  used_by: string | null;
  revoked_at: number | null;
  revoked_by: string | null;
}

interface FleetRow {
  gateway_id: string;
  site_id: string | null;
  site_name: string | null;
  grid_cell_id: string | null;
  lat: number | null;
  lon: number | null;
  hardware: string | null;
  enrolled_at: number | null;
  revoked_at: number | null;
  revoked_by: string | null;
  revoke_reason: string | null;
  rotation_started_at: number | null;
  rotated_at: number | null;
}

const TOKEN_COLUMNS =
  'id, site_id, grid_cell_id, gateway_id, gateway_id_prefix, note, created_at, created_by, expires_at, used_at, used_by, revoked_at, revoked_by';

/** Every gateway with its placement; the site's grid cell wins over one set on the gateway. */
const FLEET_SELECT = `
  SELECT g.id AS gateway_id, f.site_id, s.name AS site_name, coalesce(s.grid_cell_id, f.grid_cell_id) AS grid_cell_id,
         s.lat, s.lon, f.hardware, f.enrolled_at, f.revoked_at, f.revoked_by, f.revoke_reason,
         CASE WHEN f.pending_password_hash IS NULL THEN NULL ELSE f.rotation_started_at END AS rotation_started_at, f.rotated_at
  FROM gateways g
  LEFT JOIN gateway_fleet f ON f.gateway_id = g.id
  LEFT JOIN sites s ON s.id = f.site_id`;

function tokenState(row: TokenRow, now: number): TokenState {
  if (row.used_at !== null) return 'used';
  if (row.revoked_at !== null) return 'revoked';
  return row.expires_at <= now ? 'expired' : 'unused';
}

function toToken(row: TokenRow, now: number): EnrolmentTokenRecord {
  return {
    id: row.id,
    siteId: row.site_id,
    gridCellId: row.grid_cell_id,
    gatewayId: row.gateway_id,
    gatewayIdPrefix: row.gateway_id_prefix,
    note: row.note,
    createdAt: row.created_at,
    createdBy: row.created_by,
    expiresAt: row.expires_at,
    state: tokenState(row, now),
    usedAt: row.used_at,
    usedBy: row.used_by,
    revokedAt: row.revoked_at,
    revokedBy: row.revoked_by,
  };
}

function toGridCell(row: GridCellRow): GridCellRecord {
  return {
    id: row.id,
    name: row.name,
    polygon: row.polygon === null ? null : (JSON.parse(row.polygon) as Polygon),
    bbox: row.bbox === null ? null : (JSON.parse(row.bbox) as BBox),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toSite(row: SiteRow): SiteRecord {
  return {
    id: row.id,
    name: row.name,
    location: locationOf(row),
    gridCellId: row.grid_cell_id,
    address: row.address,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toFleet(row: FleetRow): GatewayFleetInfo {
  return {
    gatewayId: row.gateway_id,
    siteId: row.site_id,
    siteName: row.site_name,
    gridCellId: row.grid_cell_id,
    location: locationOf(row),
    hardware: row.hardware === null ? null : (JSON.parse(row.hardware) as Record<string, unknown>),
    enrolledAt: row.enrolled_at,
    revoked: row.revoked_at === null ? null : { at: row.revoked_at, by: row.revoked_by ?? '', reason: row.revoke_reason ?? '' },
    rotationPendingSince: row.rotation_started_at,
    rotatedAt: row.rotated_at,
  };
}

const isForeignKeyFailure = (err: unknown) => (err as { code?: string }).code === 'SQLITE_CONSTRAINT_FOREIGNKEY';

export class SqliteFleetStore implements FleetStore {
  constructor(private readonly db: Database.Database) {}

  // ---- grid cells and sites -------------------------------------------------------------

  async putGridCell(cell: GridCellDefinition, at = Date.now()): Promise<PutResult<GridCellRecord>> {
    return this.db
      .transaction(() => {
        const existed = this.db.prepare('SELECT 1 FROM grid_cells WHERE id = ?').get(cell.id) !== undefined;
        this.db
          .prepare(
            `INSERT INTO grid_cells (id, name, polygon, bbox, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, polygon = excluded.polygon, bbox = excluded.bbox, updated_at = excluded.updated_at`,
          )
          .run(cell.id, cell.name, cell.polygon ? JSON.stringify(cell.polygon) : null, cell.bbox ? JSON.stringify(cell.bbox) : null, at, at);
        return { record: this.gridCellRow(cell.id)!, created: !existed };
      })
      .immediate();
  }

  private gridCellRow(id: string): GridCellRecord | undefined {
    const row = this.db.prepare('SELECT * FROM grid_cells WHERE id = ?').get(id) as GridCellRow | undefined;
    return row && toGridCell(row);
  }

  async getGridCell(id: string): Promise<GridCellRecord | undefined> {
    return this.gridCellRow(id);
  }

  async listGridCells(): Promise<GridCellRecord[]> {
    return (this.db.prepare('SELECT * FROM grid_cells ORDER BY id').all() as GridCellRow[]).map(toGridCell);
  }

  async deleteGridCell(id: string): Promise<boolean> {
    try {
      return this.db.prepare('DELETE FROM grid_cells WHERE id = ?').run(id).changes > 0;
    } catch (err) {
      if (isForeignKeyFailure(err)) throw new FleetConflictError(`grid cell '${id}' is still used by a site, gateway or enrolment token`);
      throw err;
    }
  }

  async putSite(site: SiteDefinition, at = Date.now()): Promise<PutResult<SiteRecord>> {
    return this.db
      .transaction(() => {
        if (site.gridCellId != null && !this.gridCellRow(site.gridCellId)) {
          throw new UnknownFleetRecordError(`site '${site.id}': grid cell '${site.gridCellId}' not found`);
        }
        const existed = this.db.prepare('SELECT 1 FROM sites WHERE id = ?').get(site.id) !== undefined;
        this.db
          .prepare(
            `INSERT INTO sites (id, name, lat, lon, grid_cell_id, address, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, lat = excluded.lat, lon = excluded.lon,
               grid_cell_id = excluded.grid_cell_id, address = excluded.address, updated_at = excluded.updated_at`,
          )
          .run(site.id, site.name, site.location?.lat ?? null, site.location?.lon ?? null, site.gridCellId ?? null, site.address ?? null, at, at);
        return { record: this.siteRow(site.id)!, created: !existed };
      })
      .immediate();
  }

  private siteRow(id: string): SiteRecord | undefined {
    const row = this.db.prepare('SELECT * FROM sites WHERE id = ?').get(id) as SiteRow | undefined;
    return row && toSite(row);
  }

  async getSite(id: string): Promise<SiteRecord | undefined> {
    return this.siteRow(id);
  }

  async listSites(filter: { gridCellId?: string | undefined } = {}): Promise<SiteRecord[]> {
    const rows =
      filter.gridCellId === undefined
        ? this.db.prepare('SELECT * FROM sites ORDER BY id').all()
        : this.db.prepare('SELECT * FROM sites WHERE grid_cell_id = ? ORDER BY id').all(filter.gridCellId);
    return (rows as SiteRow[]).map(toSite);
  }

  async deleteSite(id: string): Promise<boolean> {
    try {
      return this.db.prepare('DELETE FROM sites WHERE id = ?').run(id).changes > 0;
    } catch (err) {
      if (isForeignKeyFailure(err)) throw new FleetConflictError(`site '${id}' is still used by a gateway or an enrolment token`);
      throw err;
    }
  }

  // ---- enrolment tokens -----------------------------------------------------------------

  async createEnrolmentToken(token: NewEnrolmentToken): Promise<EnrolmentTokenRecord> {
    return this.db
      .transaction(() => {
        if (token.siteId !== undefined && !this.siteRow(token.siteId)) throw new UnknownFleetRecordError(`site '${token.siteId}' not found`);
        if (token.gridCellId !== undefined && !this.gridCellRow(token.gridCellId)) {
          throw new UnknownFleetRecordError(`grid cell '${token.gridCellId}' not found`);
        }
        this.db
          .prepare(
            `INSERT INTO enrolment_tokens (id, token_hash, site_id, grid_cell_id, gateway_id, gateway_id_prefix, note, created_at, created_by, expires_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            token.id,
            token.tokenHash,
            token.siteId ?? null,
            token.gridCellId ?? null,
            token.gatewayId ?? null,
            token.gatewayIdPrefix ?? null,
            token.note ?? null,
            token.createdAt,
            token.createdBy,
            token.expiresAt,
          );
        return this.tokenRow(token.id, token.createdAt)!;
      })
      .immediate();
  }

  private tokenRow(id: string, now: number): EnrolmentTokenRecord | undefined {
    const row = this.db.prepare(`SELECT ${TOKEN_COLUMNS} FROM enrolment_tokens WHERE id = ?`).get(id) as TokenRow | undefined;
    return row && toToken(row, now);
  }

  async getEnrolmentToken(id: string, now = Date.now()): Promise<EnrolmentTokenRecord | undefined> {
    return this.tokenRow(id, now);
  }

  async listEnrolmentTokens(filter: EnrolmentTokenFilter = {}, now = Date.now()): Promise<EnrolmentTokenRecord[]> {
    const clauses: string[] = [];
    const params: (string | number)[] = [];
    if (filter.siteId !== undefined) (clauses.push('site_id = ?'), params.push(filter.siteId));
    const where = clauses.length === 0 ? '' : `WHERE ${clauses.join(' AND ')}`;
    const rows = this.db.prepare(`SELECT ${TOKEN_COLUMNS} FROM enrolment_tokens ${where} ORDER BY created_at DESC, id`).all(...params) as TokenRow[];
    const tokens = rows.map((row) => toToken(row, now));
    return filter.state === undefined ? tokens : tokens.filter((token) => token.state === filter.state);
  }

  async revokeEnrolmentToken(id: string, by: string, at: number): Promise<EnrolmentTokenRecord> {
    return this.db
      .transaction(() => {
        const token = this.tokenRow(id, at);
        if (!token) throw new UnknownFleetRecordError(`enrolment token '${id}' not found`);
        if (token.state === 'used') throw new FleetConflictError(`enrolment token '${id}' was already used by gateway '${token.usedBy}'; revoke the gateway instead`);
        if (token.revokedAt === null) {
          this.db.prepare('UPDATE enrolment_tokens SET revoked_at = ?, revoked_by = ? WHERE id = ?').run(at, by, id);
        }
        return this.tokenRow(id, at)!;
      })
      .immediate();
  }

  async enrol(input: EnrolInput): Promise<EnrolResult> {
    // IMMEDIATE: the write lock is taken before the token is read, so two uses cannot both see it unused.
    return this.db
      .transaction((): EnrolResult => {
        const row = this.db.prepare(`SELECT ${TOKEN_COLUMNS} FROM enrolment_tokens WHERE token_hash = ?`).get(input.tokenHash) as TokenRow | undefined;
        if (!row) throw new EnrolmentRefusedError('unknown', 'enrolment token not recognised (mistyped, or issued by another cloud)');
        const token = toToken(row, input.at);
        if (token.state === 'used') {
          throw new EnrolmentRefusedError('used', `enrolment token ${token.id} was already used (by gateway '${token.usedBy}' at ${new Date(token.usedAt!).toISOString()}); ask for a new one`);
        }
        if (token.state === 'revoked') throw new EnrolmentRefusedError('revoked', `enrolment token ${token.id} was revoked; ask for a new one`);
        if (token.state === 'expired') {
          throw new EnrolmentRefusedError('expired', `enrolment token ${token.id} expired at ${new Date(token.expiresAt).toISOString()}; ask for a new one`);
        }
        const gatewayId = chooseGatewayId(token, input.gatewayId);
        const existing = this.db
          .prepare('SELECT g.id, f.revoked_at FROM gateways g LEFT JOIN gateway_fleet f ON f.gateway_id = g.id WHERE g.id = ?')
          .get(gatewayId) as { id: string; revoked_at: number | null } | undefined;
        const reEnrolled = existing !== undefined;
        if (existing) {
          // Only a revoked gateway named by the token itself may take its identity back.
          if (existing.revoked_at === null || token.gatewayId !== gatewayId) {
            throw new EnrolmentRefusedError(
              'gateway-exists',
              existing.revoked_at === null
                ? `gateway '${gatewayId}' is already enrolled; revoke it first to re-enrol it`
                : `gateway '${gatewayId}' is revoked; re-enrolling it needs a token issued for that gateway id`,
            );
          }
          this.db.prepare('UPDATE gateways SET password_hash = ?, name = coalesce(?, name) WHERE id = ?').run(input.passwordHash, input.name ?? null, gatewayId);
        } else {
          this.db.prepare('INSERT INTO gateways (id, name, password_hash, created_at) VALUES (?, ?, ?, ?)').run(gatewayId, input.name ?? null, input.passwordHash, input.at);
        }
        this.db
          .prepare(
            `INSERT INTO gateway_fleet (gateway_id, site_id, grid_cell_id, hardware, enrolled_at, enrolment_token_id) VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (gateway_id) DO UPDATE SET site_id = excluded.site_id, grid_cell_id = excluded.grid_cell_id,
               hardware = coalesce(excluded.hardware, gateway_fleet.hardware), enrolled_at = excluded.enrolled_at,
               enrolment_token_id = excluded.enrolment_token_id, revoked_at = NULL, revoked_by = NULL, revoke_reason = NULL,
               pending_password_hash = NULL, rotation_started_at = NULL`,
          )
          .run(gatewayId, token.siteId, token.gridCellId, input.hardware ? JSON.stringify(input.hardware) : null, input.at, token.id);
        const used = this.db.prepare('UPDATE enrolment_tokens SET used_at = ?, used_by = ? WHERE id = ? AND used_at IS NULL').run(input.at, gatewayId, token.id);
        if (used.changes !== 1) throw new Error(`enrolment token ${token.id} changed during its use`);
        return { gatewayId, token: this.tokenRow(token.id, input.at)!, reEnrolled };
      })
      .immediate();
  }

  // ---- gateways ---------------------------------------------------------------------------

  private fleetRow(gatewayId: string): GatewayFleetInfo | undefined {
    const row = this.db.prepare(`${FLEET_SELECT} WHERE g.id = ?`).get(gatewayId) as FleetRow | undefined;
    return row && toFleet(row);
  }

  async gatewayFleet(gatewayId: string): Promise<GatewayFleetInfo | undefined> {
    return this.fleetRow(gatewayId);
  }

  async listGatewayFleet(filter: GatewayFleetFilter = {}): Promise<GatewayFleetInfo[]> {
    const clauses: string[] = [];
    const params: (string | number)[] = [];
    if (filter.siteId !== undefined) (clauses.push('f.site_id = ?'), params.push(filter.siteId));
    if (filter.gridCellId !== undefined) (clauses.push('coalesce(s.grid_cell_id, f.grid_cell_id) = ?'), params.push(filter.gridCellId));
    if (filter.status === 'revoked') clauses.push('f.revoked_at IS NOT NULL');
    else if (filter.status !== undefined) {
      clauses.push('f.revoked_at IS NULL', 'g.online = ?');
      params.push(filter.status === 'online' ? 1 : 0);
    }
    if (filter.deviceKind !== undefined) {
      clauses.push('EXISTS (SELECT 1 FROM devices d WHERE d.gateway_id = g.id AND d.kind = ? AND d.removed = 0)');
      params.push(filter.deviceKind);
    }
    if (filter.q !== undefined && filter.q !== '') {
      // instr on lower(): no LIKE wildcards to escape in what the user typed.
      clauses.push(
        `(instr(lower(g.id), ?) > 0 OR instr(lower(coalesce(g.name, '')), ?) > 0 OR instr(lower(coalesce(s.name, '')), ?) > 0 OR instr(lower(coalesce(s.address, '')), ?) > 0)`,
      );
      const needle = filter.q.toLowerCase();
      params.push(needle, needle, needle, needle);
    }
    const where = clauses.length === 0 ? '' : `WHERE ${clauses.join(' AND ')}`;
    return (this.db.prepare(`${FLEET_SELECT} ${where} ORDER BY g.id`).all(...params) as FleetRow[]).map(toFleet);
  }

  private requireGateway(gatewayId: string, operation: string): void {
    if (this.db.prepare('SELECT 1 FROM gateways WHERE id = ?').get(gatewayId) === undefined) throw new UnknownGatewayError(gatewayId, operation);
  }

  async placeGateway(
    gatewayId: string,
    placement: { siteId?: string | null | undefined; gridCellId?: string | null | undefined },
  ): Promise<GatewayFleetInfo> {
    return this.db
      .transaction(() => {
        this.requireGateway(gatewayId, 'place gateway');
        if (placement.siteId != null && !this.siteRow(placement.siteId)) throw new UnknownFleetRecordError(`site '${placement.siteId}' not found`);
        if (placement.gridCellId != null && !this.gridCellRow(placement.gridCellId)) {
          throw new UnknownFleetRecordError(`grid cell '${placement.gridCellId}' not found`);
        }
        this.db.prepare('INSERT INTO gateway_fleet (gateway_id) VALUES (?) ON CONFLICT DO NOTHING').run(gatewayId);
        if (placement.siteId !== undefined) this.db.prepare('UPDATE gateway_fleet SET site_id = ? WHERE gateway_id = ?').run(placement.siteId, gatewayId);
        if (placement.gridCellId !== undefined) {
          this.db.prepare('UPDATE gateway_fleet SET grid_cell_id = ? WHERE gateway_id = ?').run(placement.gridCellId, gatewayId);
        }
        return this.fleetRow(gatewayId)!;
      })
      .immediate();
  }

  async revokeGateway(gatewayId: string, by: string, reason: string, at: number): Promise<GatewayFleetInfo> {
    return this.db
      .transaction(() => {
        this.requireGateway(gatewayId, 'revoke gateway');
        this.db.prepare('INSERT INTO gateway_fleet (gateway_id) VALUES (?) ON CONFLICT DO NOTHING').run(gatewayId);
        this.db
          .prepare(
            `UPDATE gateway_fleet SET revoked_at = ?, revoked_by = ?, revoke_reason = ?, pending_password_hash = NULL, rotation_started_at = NULL
             WHERE gateway_id = ? AND revoked_at IS NULL`,
          )
          .run(at, by, reason, gatewayId);
        return this.fleetRow(gatewayId)!;
      })
      .immediate();
  }

  async gatewayCredentials(gatewayId: string): Promise<GatewayCredentialState | undefined> {
    const row = this.db
      .prepare('SELECT g.password_hash, f.pending_password_hash, f.revoked_at FROM gateways g LEFT JOIN gateway_fleet f ON f.gateway_id = g.id WHERE g.id = ?')
      .get(gatewayId) as { password_hash: string; pending_password_hash: string | null; revoked_at: number | null } | undefined;
    return row && { passwordHash: row.password_hash, pendingPasswordHash: row.pending_password_hash, revoked: row.revoked_at !== null };
  }

  async beginRotation(gatewayId: string, pendingPasswordHash: string, at: number): Promise<void> {
    this.db
      .transaction(() => {
        this.requireGateway(gatewayId, 'rotate credentials');
        this.db.prepare('INSERT INTO gateway_fleet (gateway_id) VALUES (?) ON CONFLICT DO NOTHING').run(gatewayId);
        this.db.prepare('UPDATE gateway_fleet SET pending_password_hash = ?, rotation_started_at = ? WHERE gateway_id = ?').run(pendingPasswordHash, at, gatewayId);
      })
      .immediate();
  }

  async cancelRotation(gatewayId: string, pendingPasswordHash: string): Promise<void> {
    this.db
      .prepare('UPDATE gateway_fleet SET pending_password_hash = NULL, rotation_started_at = NULL WHERE gateway_id = ? AND pending_password_hash = ?')
      .run(gatewayId, pendingPasswordHash);
  }

  async completeRotation(gatewayId: string, pendingPasswordHash: string, at: number): Promise<boolean> {
    return this.db
      .transaction(() => {
        const cleared = this.db
          .prepare(
            'UPDATE gateway_fleet SET pending_password_hash = NULL, rotation_started_at = NULL, rotated_at = ? WHERE gateway_id = ? AND pending_password_hash = ?',
          )
          .run(at, gatewayId, pendingPasswordHash);
        if (cleared.changes === 0) return false;
        this.db.prepare('UPDATE gateways SET password_hash = ? WHERE id = ?').run(pendingPasswordHash, gatewayId);
        return true;
      })
      .immediate();
  }
}
