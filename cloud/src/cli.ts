/**
 * quanlink-cloud command line.
 *   serve --data-dir DIR [--host H] [--mqtt-port N] [--http-port N] [--mqtt-url URL] [--admin-token T]
 *         [--tls-dir DIR | --tls-cert F --tls-key F [--tls-ca F]] [--update-key F ...]
 *   gateway add ID --data-dir DIR [--name N] [--password P]
 *   user add USERNAME --data-dir DIR --role ROLE [--name N] [--password P]
 *   segment put --data-dir DIR --id ID --name N --class CLASS --lane GW/DEV/LANE [--lane ...]
 * Machine-readable results go to stdout as one JSON line; logs go to stderr.
 */
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { pathToFileURL } from 'node:url';
import { startCloud, openStore, registerGateway } from './cloud.js';
import { createLogger } from './logger.js';
import type { CloudTlsOptions } from './tls/certificates.js';
import { AccountRuleError, Accounts } from './auth/accounts.js';
import { generateSecret } from './auth/secrets.js';
import { DuplicateUserError } from './auth/types.js';
import { ROLES, type Role } from './http/access.js';
import { InvalidSegmentError } from './store/types.js';
import { isRoadClass, ROAD_CLASSES } from './traffic/grades.js';
import { parseLaneRef } from './traffic/segment-definition.js';

const USAGE = `Usage:
  quanlink-cloud serve --data-dir DIR [--host H] [--mqtt-port N] [--http-port N] [--mqtt-url URL] [--admin-token T]
      [--tls-dir DIR | --tls-cert FILE --tls-key FILE [--tls-ca FILE]] [--update-key FILE ...]
      Runs the cloud: embedded MQTT broker (unless --mqtt-url), ingest, HTTP API.
      Prints {"event":"listening","http":...,"mqtt":...} on stdout when ready; logs go to stderr.
      --data-dir     directory of the SQLite store (required)
      --host         interface to listen on (default 127.0.0.1)
      --mqtt-port    embedded broker port (default 1884; 0 = any free port)
      --http-port    HTTP API port (default 8080; 0 = any free port)
      --mqtt-url     use this broker instead of embedding one, e.g. mqtt://127.0.0.1:1883
      --admin-token  bearer token of admin routes (generated and printed once when absent)
      --tls-dir      serve MQTT over TLS and HTTPS with a CA and server certificate generated once into DIR
                     (gateways trust DIR's CA: enrolment hands it out)
      --tls-cert, --tls-key, --tls-ca
                     serve TLS with your own certificate, key and (optional) CA instead
      --update-key   public key (PEM) that agent update bundles must be signed with; repeat for several
                     (default: the files in QUANLINK_UPDATE_TRUSTED_KEYS)
  quanlink-cloud gateway add ID --data-dir DIR [--name N] [--password P]
      Registers a gateway; prints {"id":...,"password":...} (the only time the password is shown).
  quanlink-cloud user add USERNAME --data-dir DIR --role ROLE [--name N] [--password P]
      Creates a user of the HTTP API; prints {"username":...,"role":...,"password":...} (a password is
      generated when --password is absent and shown only here).
      --role         ${ROLES.join(' | ')}
  quanlink-cloud segment put --data-dir DIR --id ID --name N --class CLASS --lane GW/DEV/LANE [--lane ...]
      Creates a road segment or replaces its name, class and lanes; prints {"created":...,"segment":...}.
      --class        ${ROAD_CLASSES.join(' | ')} (GB/T 33171 road class of the traffic state grades)
      --lane         gateway/device/lane, e.g. gw-1/loop-1/2; repeat for every lane of the segment
  quanlink-cloud --help
`;

/** Exit status for bad usage, as most command-line tools use. */
const USAGE_ERROR = 2;

class UsageError extends Error {}

const SERVE_OPTIONS = {
  'data-dir': { type: 'string' },
  host: { type: 'string' },
  'mqtt-port': { type: 'string' },
  'http-port': { type: 'string' },
  'mqtt-url': { type: 'string' },
  'admin-token': { type: 'string' },
  'tls-dir': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-ca': { type: 'string' },
  'update-key': { type: 'string', multiple: true },
} satisfies ParseArgsConfig['options'];

const GATEWAY_ADD_OPTIONS = {
  'data-dir': { type: 'string' },
  name: { type: 'string' },
  password: { type: 'string' },
} satisfies ParseArgsConfig['options'];

const USER_ADD_OPTIONS = {
  'data-dir': { type: 'string' },
  role: { type: 'string' },
  name: { type: 'string' },
  password: { type: 'string' },
} satisfies ParseArgsConfig['options'];

const SEGMENT_PUT_OPTIONS = {
  'data-dir': { type: 'string' },
  id: { type: 'string' },
  name: { type: 'string' },
  class: { type: 'string' },
  lane: { type: 'string', multiple: true },
} satisfies ParseArgsConfig['options'];

function parse<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O, positionals: number) {
  let parsed;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: positionals > 0 });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (parsed.positionals.length > positionals) throw new UsageError(`unexpected argument '${parsed.positionals[positionals]}'`);
  return parsed;
}

function port(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d{1,5}$/.test(raw) || value > 65535) throw new UsageError(`--${name} must be a port number 0-65535, got '${raw}'`);
  return value;
}

function required(name: string, value: string | undefined): string {
  if (value === undefined || value === '') throw new UsageError(`--${name} is required`);
  return value;
}

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

function tlsOptions(values: { 'tls-dir'?: string; 'tls-cert'?: string; 'tls-key'?: string; 'tls-ca'?: string }): CloudTlsOptions | undefined {
  const { 'tls-dir': dir, 'tls-cert': cert, 'tls-key': key, 'tls-ca': ca } = values;
  if (dir !== undefined) {
    if (cert !== undefined || key !== undefined || ca !== undefined) throw new UsageError('--tls-dir generates the certificates: do not combine it with --tls-cert, --tls-key or --tls-ca');
    return { generate: { dir } };
  }
  if (cert === undefined && key === undefined) {
    if (ca !== undefined) throw new UsageError('--tls-ca needs --tls-cert and --tls-key');
    return undefined;
  }
  return { certFile: required('tls-cert', cert), keyFile: required('tls-key', key), caFile: ca };
}

async function serve(args: string[]): Promise<void> {
  const { values } = parse(args, SERVE_OPTIONS, 0);
  const dataDir = required('data-dir', values['data-dir']);
  const mqttPort = port('mqtt-port', values['mqtt-port'], 1884);
  const httpPort = port('http-port', values['http-port'], 8080);
  if (values['mqtt-url'] !== undefined && !/^mqtts?:\/\//.test(values['mqtt-url'])) {
    throw new UsageError(`--mqtt-url must start with mqtt:// or mqtts://, got '${values['mqtt-url']}'`);
  }
  const tls = tlsOptions(values);
  let trustedKeys: string[] | undefined;
  try {
    trustedKeys = values['update-key']?.map((file) => readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`--update-key: ${(err as Error).message}`);
  }
  const logger = createLogger();
  let cloud;
  try {
    cloud = await startCloud({
      tls,
      ...(trustedKeys !== undefined && { updates: { trustedKeys } }),
      dataDir,
      host: values.host ?? '127.0.0.1',
      mqttPort,
      httpPort,
      externalMqttUrl: values['mqtt-url'],
      adminToken: values['admin-token'],
      logger,
    });
  } catch (err) {
    const { code, port: busy } = err as { code?: string; port?: number };
    if (code === 'EADDRINUSE') {
      const flag = busy === mqttPort && values['mqtt-url'] === undefined ? '--mqtt-port' : '--http-port';
      throw new Error(`port ${busy} is already in use: choose another with ${flag} (0 picks a free port)`);
    }
    throw err;
  }
  const generatedToken = values['admin-token'] === undefined ? { adminToken: cloud.adminToken } : {};
  printJson({ event: 'listening', http: cloud.httpUrl, mqtt: cloud.mqttUrl, ...generatedToken });

  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      logger.info({ signal }, 'stopping');
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await cloud.close();
  logger.flush();
}

async function gateway(args: string[]): Promise<void> {
  const [action, ...rest] = args;
  if (action !== 'add') throw new UsageError(action === undefined ? 'gateway: missing action (add)' : `gateway: unknown action '${action}'`);
  const { values, positionals } = parse(rest, GATEWAY_ADD_OPTIONS, 1);
  const id = positionals[0];
  if (id === undefined) throw new UsageError('gateway add: missing gateway ID');
  const store = openStore(required('data-dir', values['data-dir']));
  try {
    printJson(await registerGateway(store, id, values.name, values.password));
  } catch (err) {
    if (err instanceof TypeError) throw new UsageError(err.message);
    throw err;
  } finally {
    await store.close();
  }
}

async function user(args: string[]): Promise<void> {
  const [action, ...rest] = args;
  if (action !== 'add') throw new UsageError(action === undefined ? 'user: missing action (add)' : `user: unknown action '${action}'`);
  const { values, positionals } = parse(rest, USER_ADD_OPTIONS, 1);
  const username = positionals[0];
  if (username === undefined) throw new UsageError('user add: missing USERNAME');
  const role = required('role', values.role);
  if (!(ROLES as readonly string[]).includes(role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}, got '${role}'`);
  const password = values.password ?? generateSecret();
  const store = openStore(required('data-dir', values['data-dir']));
  try {
    const accounts = new Accounts({ users: store.users, adminToken: generateSecret() });
    const created = await accounts.createUser({ username, role: role as Role, name: values.name, password });
    printJson({ username: created.username, role: created.role, name: created.name, ...(values.password === undefined && { password }) });
  } catch (err) {
    if (err instanceof AccountRuleError || err instanceof DuplicateUserError) throw new UsageError(err.message);
    throw err;
  } finally {
    await store.close();
  }
}

async function segment(args: string[]): Promise<void> {
  const [action, ...rest] = args;
  if (action !== 'put') throw new UsageError(action === undefined ? 'segment: missing action (put)' : `segment: unknown action '${action}'`);
  const { values } = parse(rest, SEGMENT_PUT_OPTIONS, 0);
  const id = required('id', values.id);
  const name = required('name', values.name);
  const roadClass = required('class', values.class);
  if (!isRoadClass(roadClass)) throw new UsageError(`--class must be one of ${ROAD_CLASSES.join(', ')}, got '${roadClass}'`);
  const lanes = (values.lane ?? []).map((text) => {
    const lane = parseLaneRef(text);
    if (!lane) throw new UsageError(`--lane must be gateway/device/lane (lane 1-999), got '${text}'`);
    return lane;
  });
  if (lanes.length === 0) throw new UsageError('--lane is required (once per lane of the segment)');
  const store = openStore(required('data-dir', values['data-dir']));
  try {
    const { created, segment: saved } = await store.putSegment({ id, name, roadClass, lanes });
    printJson({ created, segment: saved });
  } catch (err) {
    if (err instanceof InvalidSegmentError) throw new UsageError(err.message);
    throw err;
  } finally {
    await store.close();
  }
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      process.stdout.write(USAGE);
      return command === undefined ? USAGE_ERROR : 0;
    }
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(USAGE);
      return 0;
    }
    if (command === 'serve') await serve(rest);
    else if (command === 'gateway') await gateway(rest);
    else if (command === 'segment') await segment(rest);
    else if (command === 'user') await user(rest);
    else throw new UsageError(`unknown command '${command}'`);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`quanlink-cloud: ${err.message}\n(run with --help for usage)\n`);
      return USAGE_ERROR;
    }
    process.stderr.write(`quanlink-cloud: ${(err as Error).message}\n`);
    return 1;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
