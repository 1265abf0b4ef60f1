/**
 * CLI commands of updates (wired in cli.ts):
 *   supervise --config FILE [--health-timeout-s N]
 *   update keygen --out DIR
 *   update sign --key KEY.pem --version V --dir RELEASE_DIR --out BUNDLE [--entry FILE] [--min-agent-version V]
 *   update verify --bundle BUNDLE (--config FILE | --trusted-key PUB.pem) [--force]
 * Each returns the exit code; a usage problem throws `usage(message)`'s error.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { trustedKeySet, UpdateVerifyError } from '@quanlink/contracts';
import { ConfigFile } from '../config/index.js';
import { configuredTrustedKeys } from './agent-updates.js';
import { runningAgentVersion } from '../version.js';
import { generateSigningKeys, packRelease, verifyBundle } from './bundle.js';
import { Supervisor } from './supervisor.js';
import { untilStopSignal } from '../stop-signal.js';

export const UPDATE_USAGE = `  supervise --config FILE [--health-timeout-s N]
                                         run the agent of the current release, restart it when it
                                         crashes, switch to installed updates and roll back one
                                         that does not report healthy in time (default 60 s)
  update keygen --out DIR                new Ed25519 signing key pair (private key owner-only)
  update sign --key KEY --version V --dir RELEASE_DIR --out BUNDLE [--entry FILE] [--min-agent-version V]
                                         sign a release directory into a bundle
  update verify --bundle BUNDLE (--config FILE | --trusted-key PUB) [--force]
                                         check a bundle as a gateway would (exit 1 when refused)
`;

type UsageErrorFactory = (message: string) => Error;

export async function superviseCommand(args: string[], usage: UsageErrorFactory): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string' }, 'health-timeout-s': { type: 'string' } }, strict: true });
  if (!values.config) throw usage('missing --config');
  const config = await ConfigFile.load(values.config);
  const flagTimeout = values['health-timeout-s'] === undefined ? undefined : Number(values['health-timeout-s']);
  if (flagTimeout !== undefined && !(flagTimeout > 0)) throw usage(`--health-timeout-s must be a positive number, got '${values['health-timeout-s']}'`);
  const timeoutS = flagTimeout ?? config.data.updates?.healthTimeoutS;
  const logger = pino({ name: 'quanlink-supervisor' }).child({ gateway: config.data.gateway.id });
  const supervisor = new Supervisor({
    configFile: config.file,
    dataDir: config.dataDir,
    logger,
    ...(timeoutS !== undefined ? { healthTimeoutMs: timeoutS * 1000 } : {}),
  });
  await supervisor.start();
  await untilStopSignal(logger);
  await supervisor.stop();
  return 0;
}

export async function updateCommand(args: string[], usage: UsageErrorFactory): Promise<number> {
  const [action, ...rest] = args;
  if (action === 'keygen') {
    const { values } = parseArgs({ args: rest, options: { out: { type: 'string' } }, strict: true });
    if (!values.out) throw usage('missing --out');
    const keys = await generateSigningKeys(values.out);
    console.log(JSON.stringify(keys));
    return 0;
  }
  if (action === 'sign') {
    const { values } = parseArgs({
      args: rest,
      options: { key: { type: 'string' }, version: { type: 'string' }, dir: { type: 'string' }, out: { type: 'string' }, entry: { type: 'string' }, 'min-agent-version': { type: 'string' } },
      strict: true,
    });
    for (const flag of ['key', 'version', 'dir', 'out'] as const) if (!values[flag]) throw usage(`missing --${flag}`);
    try {
      const { bundle, envelope } = await packRelease({
        privateKey: await readFile(values.key!, 'utf8'),
        version: values.version!,
        dir: values.dir!,
        entry: values.entry,
        minAgentVersion: values['min-agent-version'],
      });
      await writeFile(values.out!, bundle, { flag: 'wx' });
      console.log(JSON.stringify({ bundle: values.out, version: envelope.manifest.version, keyId: envelope.keyId, files: envelope.manifest.files.length, bytes: bundle.length }));
      return 0;
    } catch (err) {
      if (err instanceof UpdateVerifyError) {
        console.error(`quanlink-edge: update sign: ${err.message}`);
        return 1;
      }
      throw err;
    }
  }
  if (action === 'verify') {
    const { values } = parseArgs({
      args: rest,
      options: { bundle: { type: 'string' }, config: { type: 'string' }, 'trusted-key': { type: 'string', multiple: true }, force: { type: 'boolean' } },
      strict: true,
    });
    if (!values.bundle) throw usage('missing --bundle');
    if (!values.config && !values['trusted-key']) throw usage('give --config FILE or --trusted-key PUB');
    try {
      const trusted = values.config
        ? configuredTrustedKeys(await ConfigFile.load(values.config))
        : trustedKeySet(await Promise.all(values['trusted-key']!.map((file) => readFile(file, 'utf8'))));
      const verified = verifyBundle(await readFile(values.bundle), { trusted, currentVersion: values.force ? undefined : runningAgentVersion() });
      const { manifest, keyId } = verified.envelope;
      console.log(JSON.stringify({ ok: true, version: manifest.version, keyId, files: manifest.files.length }));
      return 0;
    } catch (err) {
      if (err instanceof UpdateVerifyError) {
        console.log(JSON.stringify({ ok: false, code: err.code, reason: err.message }));
        return 1;
      }
      throw err;
    }
  }
  throw usage(`unknown update action '${action ?? ''}' (keygen | sign | verify)`);
}
