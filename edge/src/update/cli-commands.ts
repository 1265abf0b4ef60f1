/**
 * CLI commands of updates (wired in cli.ts):
 *   supervise --config FILE [--health-timeout-s N]
 *   update keygen --out DIR
 *   update sign --key KEY.pem --version V --dir RELEASE_DIR --out BUNDLE [--entry FILE] [--min-agent-version V]
 *   update verify --bundle BUNDLE (--config FILE | --trusted-key PUB.pem) [--force]
 *   update sign-firmware --key KEY.pem --profile ID --version V --image FILE --out BUNDLE
 * Each returns the exit code; a usage problem throws `usage(message)`'s error.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { FIRMWARE_PRODUCT, splitBundle, trustedKeySet, UpdateVerifyError } from '@quanlink/contracts';
import { ConfigFile } from '../config/index.js';
import { configuredTrustedKeys } from './agent-updates.js';
import { runningAgentVersion } from '../version.js';
import { generateSigningKeys, packRelease, verifyBundle } from './bundle.js';
import { Supervisor } from './supervisor.js';
import { packFirmware } from './device-firmware.js';
import { encodeFirmwareImage, FIRMWARE_IMAGE_MAGIC, parseFirmwareImageHeader } from '@quanlink/device-profiles';
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
  update sign-firmware --key KEY --profile ID --version V --image FILE --out BUNDLE
                                         sign a device firmware image (a raw body gets the image
                                         header for the profile and version) into a bundle
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
      const bytes = await readFile(values.bundle);
      // Device firmware is not compared with the agent's version (the gateway compares it with the device's).
      const firmware = (splitBundle(bytes).envelope as { manifest?: { product?: unknown } } | null)?.manifest?.product === FIRMWARE_PRODUCT;
      const verified = verifyBundle(bytes, { trusted, currentVersion: values.force || firmware ? undefined : runningAgentVersion() });
      const { manifest, keyId } = verified.envelope;
      const firmwareFields = firmware ? { product: manifest.product, profile: manifest.profile } : {};
      console.log(JSON.stringify({ ok: true, version: manifest.version, keyId, files: manifest.files.length, ...firmwareFields }));
      return 0;
    } catch (err) {
      if (err instanceof UpdateVerifyError) {
        console.log(JSON.stringify({ ok: false, code: err.code, reason: err.message }));
        return 1;
      }
      throw err;
    }
  }
  if (action === 'sign-firmware') {
    const { values } = parseArgs({
      args: rest,
      options: { key: { type: 'string' }, profile: { type: 'string' }, version: { type: 'string' }, image: { type: 'string' }, out: { type: 'string' } },
      strict: true,
    });
    for (const flag of ['key', 'profile', 'version', 'image', 'out'] as const) if (!values[flag]) throw usage(`missing --${flag}`);
    try {
      const file = await readFile(values.image!);
      // A finished image keeps its header (which must say the same); a raw body gets one.
      const image = file.subarray(0, 4).equals(FIRMWARE_IMAGE_MAGIC) ? file : encodeFirmwareImage({ profile: values.profile!, version: values.version!, body: file });
      const header = parseFirmwareImageHeader(image);
      if (header.profile !== values.profile || header.version !== values.version) {
        console.error(`quanlink-edge: update sign-firmware: ${values.image} is an image for ${header.profile} ${header.version}, not ${values.profile} ${values.version}`);
        return 1;
      }
      const { bundle, envelope } = packFirmware({ privateKey: await readFile(values.key!, 'utf8'), image });
      await writeFile(values.out!, bundle, { flag: 'wx' });
      console.log(JSON.stringify({ bundle: values.out, product: envelope.manifest.product, profile: envelope.manifest.profile, version: envelope.manifest.version, keyId: envelope.keyId, bytes: bundle.length }));
      return 0;
    } catch (err) {
      if (err instanceof UpdateVerifyError || err instanceof RangeError) {
        console.error(`quanlink-edge: update sign-firmware: ${err.message}`);
        return 1;
      }
      throw err;
    }
  }
  throw usage(`unknown update action '${action ?? ''}' (keygen | sign | verify | sign-firmware)`);
}
