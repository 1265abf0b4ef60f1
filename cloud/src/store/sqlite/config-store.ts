/**
 * The configuration shadow in SQLite: desired versions, the reported config, their history.
 * ConfigProjector applies `config.reported` events inside the ingest transaction (like the video and
 * sign projectors), so a report commits with its batch, exactly once.
 */
import type Database from 'better-sqlite3';
import { withoutSecrets, type ConfigReportedData, type ManagedConfig } from '@quanlink/contracts';
import {
  ConfigVersionConflictError,
  type ConfigHistoryEntry,
  type ConfigHistoryKind,
  type ConfigShadow,
  type ConfigStore,
  type DesiredConfig,
  type DesiredOutcome,
  type NewDesiredConfig,
  type ReportedConfig,
} from '../../config-shadow/types.js';
import { UnknownGatewayError } from '../types.js';

interface DesiredRow {
  gateway_id: string;
  version: number;
  config: string;
  sha256: string;
  set_by: string;
  set_at: number;
  outcome: DesiredOutcome;
  outcome_at: number | null;
  error_code: string | null;
  error_message: string | null;
}

interface ReportedRow {
  gateway_id: string;
  version: number;
  sha256: string;
  source: 'cloud' | 'local';
  applied_at: number;
  received_at: number;
  config: string | null;
}

interface HistoryRow {
  at: number;
  kind: ConfigHistoryKind;
  version: number;
  sha256: string | null;
  actor: string | null;
  source: 'cloud' | 'local' | null;
  error_code: string | null;
  error_message: string | null;
}

type Outcome = { applied: true } | { applied: false; code: string; message: string };

const DEFAULT_HISTORY_LIMIT = 100;
const MAX_HISTORY_LIMIT = 1000;

function toDesired(row: DesiredRow): DesiredConfig {
  return {
    gatewayId: row.gateway_id,
    version: row.version,
    config: JSON.parse(row.config) as ManagedConfig,
    sha256: row.sha256,
    setBy: row.set_by,
    setAt: row.set_at,
    outcome: row.outcome,
    outcomeAt: row.outcome_at,
    error: row.error_code === null ? null : { code: row.error_code, message: row.error_message ?? '' },
  };
}

function toReported(row: ReportedRow): ReportedConfig {
  return {
    gatewayId: row.gateway_id,
    version: row.version,
    sha256: row.sha256,
    source: row.source,
    appliedAt: row.applied_at,
    receivedAt: row.received_at,
    config: row.config === null ? null : (JSON.parse(row.config) as ManagedConfig),
  };
}

/** Statements shared by the projector (inside ingest) and the store. */
class ConfigStatements {
  readonly upsertReported: Database.Statement<[string, number, string, string, number, number, string | null]>;
  readonly insertHistory: Database.Statement<[string, number, ConfigHistoryKind, number, string | null, string | null, string | null, string | null, string | null]>;
  readonly desiredRow: Database.Statement<[string, number], DesiredRow>;
  readonly settle: Database.Statement<[DesiredOutcome, number, string | null, string | null, string, string, number]>;

  constructor(db: Database.Database) {
    // An older report (gateway clock) never overrides a newer one.
    this.upsertReported = db.prepare(
      `INSERT INTO config_reported (gateway_id, version, sha256, source, applied_at, received_at, config) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (gateway_id) DO UPDATE SET
         version = excluded.version, sha256 = excluded.sha256, source = excluded.source, applied_at = excluded.applied_at,
         received_at = excluded.received_at, config = excluded.config
       WHERE excluded.applied_at >= config_reported.applied_at`,
    );
    this.insertHistory = db.prepare(
      `INSERT INTO config_history (gateway_id, at, kind, version, sha256, actor, source, error_code, error_message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.desiredRow = db.prepare(`SELECT * FROM config_desired WHERE gateway_id = ? AND version = ?`);
    // An applied version stays applied; the config loses its secrets then (they are on the gateway).
    this.settle = db.prepare(
      `UPDATE config_desired SET outcome = ?, outcome_at = ?, error_code = ?, error_message = ?, config = ?
       WHERE gateway_id = ? AND version = ? AND outcome != 'applied'`,
    );
  }

  /** Moves a desired version to applied or rejected; returns whether it changed (and wrote history). */
  settleDesired(gatewayId: string, version: number, outcome: { applied: true } | { applied: false; code: string; message: string }, at: number): boolean {
    const row = this.desiredRow.get(gatewayId, version);
    if (!row || row.outcome === 'applied') return false;
    if (!outcome.applied && row.outcome === 'rejected') return false;
    const config = outcome.applied ? JSON.stringify(withoutSecrets(JSON.parse(row.config) as unknown)) : row.config;
    const error = outcome.applied ? [null, null] : [outcome.code, outcome.message];
    this.settle.run(outcome.applied ? 'applied' : 'rejected', at, error[0]!, error[1]!, config, gatewayId, version);
    this.insertHistory.run(gatewayId, at, outcome.applied ? 'applied' : 'rejected', version, row.sha256, null, null, error[0]!, error[1]!);
    return true;
  }

  reported(gatewayId: string, report: ConfigReportedData, receivedAt: number): void {
    this.upsertReported.run(
      gatewayId,
      report.version,
      report.sha256,
      report.source,
      report.appliedAt,
      receivedAt,
      report.config === undefined ? null : JSON.stringify(withoutSecrets(report.config)),
    );
    this.insertHistory.run(gatewayId, receivedAt, 'reported', report.version, report.sha256, null, report.source, null, null);
    // The gateway runs the desired version: applied, even when its answer to config.apply was lost.
    if (report.source === 'cloud' && this.desiredRow.get(gatewayId, report.version)?.sha256 === report.sha256) {
      this.settleDesired(gatewayId, report.version, { applied: true }, receivedAt);
    }
  }
}

/** Applies config.reported events inside the ingest transaction. */
export class ConfigProjector {
  private readonly statements: ConfigStatements;

  constructor(db: Database.Database) {
    this.statements = new ConfigStatements(db);
  }

  reported(gatewayId: string, report: ConfigReportedData, receivedAt: number): void {
    this.statements.reported(gatewayId, report, receivedAt);
  }
}

export class SqliteConfigStore implements ConfigStore {
  private readonly statements: ConfigStatements;
  private readonly gatewayExists: Database.Statement<[string], { id: string }>;
  private readonly latestDesired: Database.Statement<[string], DesiredRow>;
  private readonly insertDesired: Database.Statement<[string, number, string, string, string, number]>;
  private readonly reportedRow: Database.Statement<[string], ReportedRow>;
  private readonly lastRejected: Database.Statement<[string, string], DesiredRow>;
  private readonly historyRows: Database.Statement<[string, number], HistoryRow>;
  private readonly put: Database.Transaction<(input: NewDesiredConfig) => DesiredConfig>;
  private readonly reportTx: Database.Transaction<(gatewayId: string, report: ConfigReportedData, receivedAt: number) => void>;
  private readonly outcomeTx: Database.Transaction<(gatewayId: string, version: number, outcome: Outcome, at: number) => boolean>;

  constructor(db: Database.Database) {
    this.statements = new ConfigStatements(db);
    this.gatewayExists = db.prepare(`SELECT id FROM gateways WHERE id = ?`);
    this.latestDesired = db.prepare(`SELECT * FROM config_desired WHERE gateway_id = ? ORDER BY version DESC LIMIT 1`);
    this.insertDesired = db.prepare(`INSERT INTO config_desired (gateway_id, version, config, sha256, set_by, set_at) VALUES (?, ?, ?, ?, ?, ?)`);
    this.reportedRow = db.prepare(`SELECT * FROM config_reported WHERE gateway_id = ?`);
    // A refusal counts until a later version is applied.
    this.lastRejected = db.prepare(
      `SELECT * FROM config_desired WHERE gateway_id = ? AND outcome = 'rejected'
         AND version > coalesce((SELECT max(version) FROM config_desired WHERE gateway_id = ? AND outcome = 'applied'), 0)
       ORDER BY version DESC LIMIT 1`,
    );
    this.historyRows = db.prepare(
      `SELECT at, kind, version, sha256, actor, source, error_code, error_message FROM config_history WHERE gateway_id = ? ORDER BY id DESC LIMIT ?`,
    );
    this.put = db.transaction((input: NewDesiredConfig) => {
      if (!this.gatewayExists.get(input.gatewayId)) throw new UnknownGatewayError(input.gatewayId, 'set desired config');
      const current = this.latestDesired.get(input.gatewayId)?.version ?? 0;
      if (input.baseVersion !== undefined && input.baseVersion !== current) throw new ConfigVersionConflictError(input.gatewayId, input.baseVersion, current);
      const version = current + 1;
      this.insertDesired.run(input.gatewayId, version, JSON.stringify(input.config), input.sha256, input.setBy, input.setAt);
      this.statements.insertHistory.run(input.gatewayId, input.setAt, 'desired', version, input.sha256, input.setBy, null, null, null);
      return toDesired(this.statements.desiredRow.get(input.gatewayId, version)!);
    });
    this.reportTx = db.transaction((gatewayId: string, report: ConfigReportedData, receivedAt: number) => {
      if (!this.gatewayExists.get(gatewayId)) throw new UnknownGatewayError(gatewayId, 'record reported config');
      this.statements.reported(gatewayId, report, receivedAt);
    });
    this.outcomeTx = db.transaction((gatewayId: string, version: number, outcome: Outcome, at: number) => this.statements.settleDesired(gatewayId, version, outcome, at));
  }

  async putDesired(input: NewDesiredConfig): Promise<DesiredConfig> {
    return this.put.immediate(input);
  }

  async getShadow(gatewayId: string): Promise<ConfigShadow> {
    const desired = this.latestDesired.get(gatewayId);
    const reported = this.reportedRow.get(gatewayId);
    const rejected = this.lastRejected.get(gatewayId, gatewayId);
    return {
      desired: desired ? toDesired(desired) : null,
      reported: reported ? toReported(reported) : null,
      lastError:
        rejected && rejected.error_code !== null
          ? { version: rejected.version, code: rejected.error_code, message: rejected.error_message ?? '', at: rejected.outcome_at ?? rejected.set_at }
          : null,
    };
  }

  async recordOutcome(gatewayId: string, version: number, outcome: { applied: true } | { applied: false; code: string; message: string }, at: number): Promise<void> {
    this.outcomeTx.immediate(gatewayId, version, outcome, at);
  }

  async recordReported(gatewayId: string, report: ConfigReportedData, receivedAt: number): Promise<void> {
    this.reportTx.immediate(gatewayId, report, receivedAt);
  }

  async history(gatewayId: string, limit = DEFAULT_HISTORY_LIMIT): Promise<ConfigHistoryEntry[]> {
    const bounded = Math.min(Math.max(Math.trunc(limit), 1), MAX_HISTORY_LIMIT);
    return this.historyRows.all(gatewayId, bounded).map((row) => ({
      at: row.at,
      kind: row.kind,
      version: row.version,
      sha256: row.sha256,
      actor: row.actor,
      source: row.source,
      error: row.error_code === null ? null : { code: row.error_code, message: row.error_message ?? '' },
    }));
  }
}
