/**
 * config.apply: the cloud's desired configuration, applied all or nothing.
 *
 * 1. A version not newer than the applied one is refused (StaleVersion).
 * 2. The whole candidate (local identity and credentials + the desired managed part, device
 *    passwords the cloud left out kept from the local file) is validated first, every problem
 *    collected with its path: the file's schema and cross-device checks, each device's profile, the
 *    transport the profile can be driven over, camera analytics. Any problem: InvalidConfig, nothing
 *    changes (file or running devices).
 * 3. The file is replaced atomically (tmp + fsync + rename, 0600), then the running devices are
 *    stopped and the new set started; the cloud link, outbox and command router stay up. If starting
 *    throws, the old file and the old devices come back and the apply fails (ApplyFailed).
 *    A device that is valid but cannot be reached (or whose driver cannot be built at run time) is
 *    skipped or unhealthy in status, as at start: that is device health, not a failed apply.
 * 4. What now runs is reported (`config.reported`, source cloud) through the outbox; the answer is
 *    `{ version, sha256 }`.
 *
 * Local edits (the CLI or a hand edit while enrolled) are found at start, or at the next config.apply
 * if the agent was running: the file's managed part no longer has the sha256 recorded in `managed`;
 * they are reported with source local, so the cloud shows the drift instead of losing the edit. An
 * apply starts from the file on disk, so a local setting edited meanwhile (outside the managed part)
 * is kept.
 */
import type { Logger } from 'pino';
import { checkCommandArgs, firstError, type Command, type ConfigApplyResult, type ConfigReportedData } from '@quanlink/contracts';
import type { DeviceProfile } from '@quanlink/device-profiles';
import { mqttTopicBase } from '../devices/drivers.js';
import type { Outbox } from '../outbox/index.js';
import { CommandError } from '../link/command-router.js';
import { checkAnalyticsConfig } from '../video/analytics/index.js';
import { ConfigFile, configProblems } from './config-file.js';
import { managedSha256, reportablePart, withManaged } from './managed.js';
import { EdgeConfig, type DeviceBinding } from './schema.js';

export const CONFIG_COMMANDS = ['config.apply'] as const;

/** The command error message is carried in ErrorInfo.message (at most 2000 characters). */
const MAX_MESSAGE = 1900;

/** The running agent as the applier sees it. */
export interface Reconfigurable {
  /** Stops the running device set and starts the one of the current config file. */
  reconfigure(): Promise<void>;
  /** Tells the cloud the new device set (a birth), when connected. */
  announce(): void;
}

export interface ConfigApplierOptions {
  config: ConfigFile;
  outbox: Outbox;
  profiles: () => ReadonlyMap<string, DeviceProfile>;
  agent: Reconfigurable;
  logger: Logger;
  now?: () => number;
}

export class ConfigApplier {
  /** One apply at a time: versions are compared against what the previous one applied. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly now: () => number;

  constructor(private readonly options: ConfigApplierOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The command handler of config.apply. */
  readonly handle = (command: Command): Promise<Record<string, unknown>> => {
    const run = this.queue.then(() => this.apply(command));
    this.queue = run.catch(() => undefined);
    return run as Promise<Record<string, unknown>>;
  };

  private async apply(command: Command): Promise<ConfigApplyResult & Record<string, unknown>> {
    const checked = checkCommandArgs('config.apply', command.args);
    if (!checked.ok) throw new CommandError('InvalidCommand', checked.error.message, checked.error.path);
    const { version, config: desired } = checked.value;
    const { config, agent, logger } = this.options;
    const gateway = config.data.gateway.id;
    const log = logger.child({ operation: 'config.apply', version });

    // The file as it is now: an edit made while the agent runs (CLI, by hand) is kept outside the managed part and reported.
    const previous = await this.onDisk();
    const applied = previous.managed?.version ?? 0;
    if (version <= applied) throw new CommandError('StaleVersion', `version ${version} is not newer than applied version ${applied} (gateway ${gateway})`);
    this.reportIfEdited(previous);
    const candidate = withManaged(previous, desired);
    const sha256 = managedSha256(candidate);
    const appliedAt = this.now();
    candidate.managed = { version, sha256, appliedAt, source: 'cloud' };

    const problems = desiredConfigProblems(candidate, this.options.profiles());
    if (problems.length > 0) {
      log.warn({ problems }, 'desired config refused; the running config is unchanged');
      throw new CommandError('InvalidConfig', describeProblems(`config version ${version} refused by gateway ${gateway}`, problems));
    }

    try {
      await config.replace(candidate);
    } catch (err) {
      throw new CommandError('ApplyFailed', `gateway ${gateway} could not write config version ${version}: ${(err as Error).message}; the previous config still runs`);
    }
    try {
      await agent.reconfigure();
    } catch (err) {
      const reason = (err as Error).message;
      log.error({ err }, 'starting the new device set failed; restoring the previous config');
      await config.replace(previous).catch((restoreErr: unknown) => log.error({ err: restoreErr }, 'restoring the previous config file failed'));
      await agent.reconfigure().catch((restartErr: unknown) => log.error({ err: restartErr }, 'restarting the previous devices failed'));
      throw new CommandError('ApplyFailed', `gateway ${gateway}: starting the devices of config version ${version} failed (${reason}); version ${applied} runs again`);
    }

    this.report({ version, sha256, source: 'cloud', appliedAt, config: reportablePart(candidate) });
    agent.announce();
    log.info({ sha256, devices: candidate.devices.length }, 'desired config applied');
    return { version, sha256 };
  }

  /**
   * At start: when enrolled and the file's managed part is not the one last recorded (edited by the
   * CLI or by hand, or never reported), reports it with source local and records its sha256.
   * Returns the report, or undefined when nothing changed.
   */
  async reportLocalEdits(): Promise<ConfigReportedData | undefined> {
    const { config } = this.options;
    const report = this.reportIfEdited(config.data);
    // Reported first: a crash before the file is updated reports the same edit again, which is harmless.
    if (report) await config.replace({ ...config.data, managed: { version: report.version, sha256: report.sha256, appliedAt: report.appliedAt, source: 'local' } });
    return report;
  }

  /** Reports `data`'s managed part (source local) when it is not the one its `managed` record names. */
  private reportIfEdited(data: EdgeConfig): ConfigReportedData | undefined {
    if (data.cloud === undefined) return undefined;
    const sha256 = managedSha256(data);
    const recorded = data.managed;
    if (recorded?.sha256 === sha256) return undefined;
    const report: ConfigReportedData = { version: recorded?.version ?? 0, sha256, source: 'local', appliedAt: this.now(), config: reportablePart(data) };
    this.report(report);
    this.options.logger.info({ operation: 'report local config', version: report.version, sha256, previous: recorded?.sha256 }, 'local config change reported to the cloud');
    return report;
  }

  /** The config file as it is on disk now; the one in memory when the file cannot be read or is invalid (a half-done hand edit). */
  private async onDisk(): Promise<EdgeConfig> {
    const { config, logger } = this.options;
    try {
      return (await ConfigFile.load(config.file)).data;
    } catch (err) {
      logger.warn({ err: (err as Error).message, operation: 'config.apply' }, 'config file unreadable or invalid on disk; applying over the config in memory');
      return config.data;
    }
  }

  private report(data: ConfigReportedData): void {
    this.options.outbox.append([{ ts: this.now(), type: 'config.reported', data }]);
  }
}

/** Every problem of a candidate config, as "path: problem" (empty when it can be applied). */
export function desiredConfigProblems(candidate: EdgeConfig, profiles: ReadonlyMap<string, DeviceProfile>): string[] {
  const problems = configProblems(candidate).map(([path, problem]) => `${path === '' ? '(top level)' : path}: ${problem}`);
  // Profiles and analytics are checked on a document of the right shape (with every cross-device problem too).
  if (firstError(EdgeConfig, candidate) !== undefined) return problems;
  candidate.devices.forEach((device, i) => problems.push(...deviceProblems(device, `devices[${i}]`, profiles)));
  return problems;
}

/** What the agent would skip this device for at start, found before anything changes. */
function deviceProblems(device: DeviceBinding, at: string, profiles: ReadonlyMap<string, DeviceProfile>): string[] {
  const profile = profiles.get(device.profile);
  if (!profile) return [`${at}.profile: unknown profile '${device.profile}' (known: ${[...profiles.keys()].join(', ')})`];
  const kind = device.transport.kind;
  const modbus = kind === 'modbus-tcp' || kind === 'modbus-rtu' || kind === 'modbus-rtu-tcp';
  if (profile.kind === 'camera') {
    const problems: string[] = [];
    if (kind !== 'onvif' && kind !== 'rtsp') problems.push(`${at}.transport.kind: a camera (profile ${profile.id}) needs onvif or rtsp, not ${kind}`);
    if (!device.video) problems.push(`${at}.video: is required for a camera (model and analytics)`);
    else problems.push(...checkAnalyticsConfig(device.video.analytics).map((problem) => `${at}.video.analytics.${problem}`));
    return problems;
  }
  if (profile.kind === 'vms') {
    if (kind === 'mqtt') return mqttTopicBase(device, profile) ? [] : [`${at}.transport.topicBase: is required (profile ${profile.id} has no default topic base)`];
    if (!profile.sign?.modbus) return [`${at}.transport.kind: profile ${profile.id} describes no Modbus sign registers, so it cannot be driven over ${kind}`];
    return modbus ? [] : [`${at}.transport.kind: a guidance screen (profile ${profile.id}) is driven over Modbus or MQTT, not ${kind}`];
  }
  return modbus ? [] : [`${at}.transport.kind: profile ${profile.id} (${profile.kind}) is polled over Modbus, not ${kind}`];
}

function describeProblems(what: string, problems: string[]): string {
  let message = `${what}: ${problems.length} problem${problems.length === 1 ? '' : 's'}: `;
  let listed = 0;
  for (const problem of problems) {
    let next = `${listed === 0 ? '' : '; '}${problem}`;
    // The first reason always shows, shortened if it alone is too long.
    if (listed === 0 && message.length + next.length > MAX_MESSAGE) next = `${next.slice(0, MAX_MESSAGE - message.length - 1)}…`;
    if (message.length + next.length > MAX_MESSAGE) break;
    message += next;
    listed++;
  }
  if (listed < problems.length) message += `; and ${problems.length - listed} more`;
  return message;
}
