/**
 * Enrolling a gateway: one call to the cloud's /api/v1/enrol with a one-time token, then a config
 * file holding the identity and MQTT password the cloud returned (owner-only: file 0600 in a 0700
 * directory), and the cloud's CA next to it so that the agent trusts the broker from then on.
 *
 * Trust on first use: the enrol call itself is only as safe as its transport. Over https it needs
 * `caFile` (the CA the cloud operator hands out) unless the cloud's certificate is publicly trusted;
 * plain http is for a trusted network only (the token and the password cross it in clear).
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { arch, hostname, platform } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { ConfigFile, type EdgeConfig } from '../config/index.js';
import { AGENT_VERSION } from '../version.js';

export const CA_FILE_NAME = 'cloud-ca.pem';

export interface EnrolOptions {
  /** http(s)://HOST:PORT of the cloud API. */
  cloudHttpUrl: string;
  token: string;
  configFile: string;
  /** Where the outbox goes; default 'data' next to the config file. */
  dataDir?: string | undefined;
  gatewayId?: string | undefined;
  name?: string | undefined;
  /** CA to trust for an https cloud URL (and kept for mqtts when the cloud sends none). */
  caFile?: string | undefined;
  /** Replace an existing config (re-enrolment); its devices are kept. */
  force?: boolean | undefined;
  /** Give up on the cloud after this long; default 15 s. */
  timeoutMs?: number | undefined;
}

export interface Enrolled {
  gatewayId: string;
  configFile: string;
  mqttUrl: string;
  /** Where the cloud's CA was stored, when there is one. */
  caFile?: string | undefined;
  site: string | null;
  gridCell: string | null;
}

/** Enrolment did not happen; the message says why (the cloud's own words when it refused). */
export class EnrolmentError extends Error {
  override readonly name = 'EnrolmentError';
  constructor(
    message: string,
    /** The cloud's HTTP status when it answered. */
    readonly status?: number,
  ) {
    super(message);
  }
}

interface EnrolAnswer {
  gatewayId: string;
  password: string;
  mqttUrl: string;
  caCertPem?: string;
  site: string | null;
  gridCell: string | null;
}

function postJson(url: URL, body: unknown, ca: Buffer | undefined, timeoutMs: number): Promise<{ status: number; body: unknown }> {
  const payload = JSON.stringify(body);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolvePost, reject) => {
    const req = send(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        timeout: timeoutMs,
        ...(ca && url.protocol === 'https:' ? { ca } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = text === '' ? undefined : JSON.parse(text);
          } catch {
            parsed = text;
          }
          resolvePost({ status: res.statusCode ?? 0, body: parsed });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

async function existingConfig(file: string): Promise<ConfigFile | undefined> {
  if (!existsSync(file)) return undefined;
  try {
    return await ConfigFile.load(file);
  } catch {
    // An unreadable or invalid file is still someone's file: refused below unless forced.
    return undefined;
  }
}

export async function enrolGateway(options: EnrolOptions): Promise<Enrolled> {
  const configFile = resolve(options.configFile);
  let base: URL;
  try {
    base = new URL(options.cloudHttpUrl);
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    throw new EnrolmentError(`cloud URL '${options.cloudHttpUrl}' is not an http(s)://HOST:PORT address`);
  }
  const previous = await existingConfig(configFile);
  if (existsSync(configFile) && !options.force) {
    const who = previous ? ` (gateway '${previous.data.gateway.id}')` : '';
    throw new EnrolmentError(`${configFile} exists already${who}; pass --force to re-enrol and replace its identity and password`);
  }
  let ca: Buffer | undefined;
  if (options.caFile !== undefined) {
    try {
      ca = await readFile(options.caFile);
    } catch (err) {
      throw new EnrolmentError(`CA file '${options.caFile}' cannot be read: ${(err as Error).message}`);
    }
  }

  const url = new URL('/api/v1/enrol', base);
  const hardware = { hostname: hostname(), platform: platform(), arch: arch(), agentVersion: AGENT_VERSION };
  let answer: { status: number; body: unknown };
  try {
    answer = await postJson(
      url,
      {
        token: options.token,
        ...(options.gatewayId !== undefined ? { gatewayId: options.gatewayId } : {}),
        ...(options.name !== undefined ? { name: options.name } : {}),
        hardware,
      },
      ca,
      options.timeoutMs ?? 15_000,
    );
  } catch (err) {
    throw new EnrolmentError(`cannot reach the cloud at ${base.origin}: ${(err as Error).message}`);
  }
  if (answer.status !== 201) {
    const message = (answer.body as { error?: { message?: string } } | undefined)?.error?.message ?? JSON.stringify(answer.body);
    throw new EnrolmentError(`the cloud at ${base.origin} refused the enrolment (HTTP ${answer.status}): ${message}`, answer.status);
  }
  const enrolled = answer.body as EnrolAnswer;

  const dir = dirname(configFile);
  if (!existsSync(dir)) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
  }
  let caFile: string | undefined;
  const caPem = enrolled.caCertPem ?? (ca && new URL(enrolled.mqttUrl).protocol === 'mqtts:' ? ca.toString('utf8') : undefined);
  if (caPem !== undefined) {
    caFile = join(dir, CA_FILE_NAME);
    await writeFile(caFile, caPem, { mode: 0o644 });
  }
  const config: EdgeConfig = {
    // Re-enrolment keeps what the technician bound; identity and credentials are the cloud's.
    ...(previous?.data ?? { devices: [] }),
    gateway: { id: enrolled.gatewayId, ...(options.name ?? previous?.data.gateway.name ? { name: options.name ?? previous!.data.gateway.name! } : {}) },
    cloud: {
      ...previous?.data.cloud,
      url: enrolled.mqttUrl,
      password: enrolled.password,
      ...(caFile !== undefined ? { caFile: basename(caFile) } : {}),
    },
    dataDir: options.dataDir ?? previous?.data.dataDir ?? 'data',
  };
  delete config.cloud.username;
  if (caFile === undefined) delete config.cloud.caFile;
  await ConfigFile.create(configFile, config);
  return { gatewayId: enrolled.gatewayId, configFile, mqttUrl: enrolled.mqttUrl, ...(caFile !== undefined ? { caFile } : {}), site: enrolled.site, gridCell: enrolled.gridCell };
}
