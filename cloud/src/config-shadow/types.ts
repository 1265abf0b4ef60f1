/**
 * The cloud's side of a gateway's configuration shadow: the desired config by version (who set it,
 * what the gateway answered) and the config the gateway reports it runs. Every method returns a
 * Promise so that a networked store fits the same interface; the conformance suite
 * (test/store/config-conformance.ts) is what every implementation must pass.
 */
import type { ConfigReportedData, ConfigSource, ManagedConfig } from '@quanlink/contracts';

/** What became of a desired version: not answered yet, applied by the gateway, or refused with its reasons. */
export type DesiredOutcome = 'pending' | 'applied' | 'rejected';
export const DESIRED_OUTCOMES: readonly DesiredOutcome[] = ['pending', 'applied', 'rejected'];

export interface DesiredConfig {
  gatewayId: string;
  version: number;
  /** As set, device passwords included until the gateway applied it (see forgetSecrets). */
  config: ManagedConfig;
  /** configSha256(config): secrets never count. */
  sha256: string;
  setBy: string;
  setAt: number;
  outcome: DesiredOutcome;
  outcomeAt: number | null;
  /** Why the gateway refused it (outcome rejected). */
  error: { code: string; message: string } | null;
}

export interface ReportedConfig {
  gatewayId: string;
  version: number;
  sha256: string;
  source: ConfigSource;
  /** Gateway clock. */
  appliedAt: number;
  /** Cloud clock. */
  receivedAt: number;
  /** Without secrets, as the gateway reported it. */
  config: ManagedConfig | null;
}

export interface ConfigShadow {
  desired: DesiredConfig | null;
  reported: ReportedConfig | null;
  /** The newest refusal of a desired version, cleared when a later version is applied. */
  lastError: { version: number; code: string; message: string; at: number } | null;
}

export interface NewDesiredConfig {
  gatewayId: string;
  config: ManagedConfig;
  sha256: string;
  setBy: string;
  setAt: number;
  /** When given, the current desired version must be this one (0: none yet), else ConfigVersionConflictError. */
  baseVersion?: number | undefined;
}

/** One line of a gateway's configuration history, newest first. */
export type ConfigHistoryKind = 'desired' | 'applied' | 'rejected' | 'reported';
export interface ConfigHistoryEntry {
  at: number;
  kind: ConfigHistoryKind;
  version: number;
  sha256: string | null;
  /** desired: the user; reported: cloud or local. */
  actor: string | null;
  source: ConfigSource | null;
  error: { code: string; message: string } | null;
}

export interface ConfigStore {
  /** Stores desired version N+1 for a registered gateway (UnknownGatewayError otherwise). */
  putDesired(input: NewDesiredConfig): Promise<DesiredConfig>;
  getShadow(gatewayId: string): Promise<ConfigShadow>;
  /** The gateway answered config.apply for `version`: applied, or refused with the reason. Older answers than the newest desired are kept in history only. */
  recordOutcome(gatewayId: string, version: number, outcome: { applied: true } | { applied: false; code: string; message: string }, at: number): Promise<void>;
  /**
   * A config.reported event (normally applied inside the ingest transaction, see the SQLite store's
   * ConfigProjector): the reported side moves to it unless it is older than what is known.
   */
  recordReported(gatewayId: string, report: ConfigReportedData, receivedAt: number): Promise<void>;
  history(gatewayId: string, limit?: number): Promise<ConfigHistoryEntry[]>;
}

export class ConfigVersionConflictError extends Error {
  override readonly name = 'ConfigVersionConflictError';
  constructor(
    readonly gatewayId: string,
    readonly baseVersion: number,
    readonly currentVersion: number,
  ) {
    super(`gateway ${gatewayId}: baseVersion ${baseVersion} is not the current desired version ${currentVersion} (someone changed it meanwhile; GET it and try again)`);
  }
}
