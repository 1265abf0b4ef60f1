/**
 * The camera's HTTP side: SOAP 1.2 on /onvif/device_service, /onvif/media_service and
 * /onvif/ptz_service, and the JPEG snapshot on /snapshot.jpg.
 *
 * Hostile input is refused before it costs anything: a Content-Length over 64 KiB is answered
 * 413 without reading, a body that grows past it is cut off (413), a DTD or entity declaration
 * anywhere is 400 "DTD not allowed" (so no entity expansion and no external entities, ever),
 * malformed XML is a Sender fault saying where. Operations are found by the namespace and name
 * of the Body's first element, on any of the three paths, as many cameras do.
 * Every operation but GetSystemDateAndTime needs a WS-Security UsernameToken digest.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { HttpAuthenticator } from './http-auth.js';
import { buildOperations, PtzState, type DeviceIdentity, type MediaSettings, type ServiceAddresses } from './operations.js';
import { NS, SoapFault, envelope, faults } from './soap.js';
import { UsernameTokenVerifier, type Credentials } from './ws-security.js';
import { MAX_XML_BYTES, XmlRefused, child, elements, localName, namespaceOf, parseXml, scopeOf } from './xml.js';

export const SERVICE_PATHS = { device: '/onvif/device_service', media: '/onvif/media_service', ptz: '/onvif/ptz_service' } as const;
export const SNAPSHOT_PATH = '/snapshot.jpg';

export interface OnvifServerOptions {
  identity: DeviceIdentity;
  media: Omit<MediaSettings, 'snapshotUri'>;
  /** Read on every request, so the credentials can change (wrong-credentials fault). */
  credentials: () => Credentials;
  snapshot: () => Promise<Buffer>;
  host?: string;
  port?: number;
  /** Host name or address put in XAddrs and URIs; default the listening host (127.0.0.1 for 0.0.0.0). */
  advertisedHost?: string;
  logger: Logger;
  now?: () => number;
}

export interface OnvifServer {
  readonly port: number;
  readonly xaddrs: ServiceAddresses;
  readonly snapshotUrl: string;
  readonly ptz: PtzState;
  /** Fault injection: answer every SOAP request with broken XML. */
  malformed: boolean;
  close(): Promise<void>;
}

const UNAUTHENTICATED = new Set([`${NS.tds} GetSystemDateAndTime`]);

class BodyTooLarge extends Error {}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_XML_BYTES) {
        req.removeAllListeners('data');
        req.pause();
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startOnvifServer(opts: OnvifServerOptions): Promise<OnvifServer> {
  const { logger } = opts;
  const now = opts.now ?? Date.now;
  const verifier = new UsernameTokenVerifier(opts.credentials, now);
  const httpAuth = new HttpAuthenticator(`${opts.identity.manufacturer} ${opts.identity.serial}`, opts.credentials);
  const ptz = new PtzState(now);
  const listenHost = opts.host ?? '127.0.0.1';
  let base = '';
  const xaddrs = (): ServiceAddresses => ({ device: base + SERVICE_PATHS.device, media: base + SERVICE_PATHS.media, ptz: base + SERVICE_PATHS.ptz });
  const operations = buildOperations(opts.identity, { ...opts.media, snapshotUri: () => base + SNAPSHOT_PATH }, xaddrs, ptz, now);
  const state = { malformed: false };

  const answerSoap = (res: http.ServerResponse, status: number, xml: string): void => {
    // Broken on purpose: cut the document in the middle of an element and add a stray '<'.
    const body = state.malformed ? `${xml.slice(0, Math.floor(xml.length / 2))}<<` : xml;
    res.writeHead(status, { 'content-type': 'application/soap+xml; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  const refuse = (req: http.IncomingMessage, res: http.ServerResponse, fault: SoapFault, action = '?'): void => {
    logger.warn({ operation: `onvif ${action}`, path: req.url, status: fault.status, problem: fault.reason, from: req.socket.remoteAddress }, 'onvif request refused');
    if (fault.status === 413) res.setHeader('connection', 'close');
    answerSoap(res, fault.status, fault.toXml());
  };

  const handleSoap = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > MAX_XML_BYTES) {
      refuse(req, res, faults.tooLarge(MAX_XML_BYTES));
      res.on('finish', () => req.socket.destroy());
      return;
    }
    let body: string;
    try {
      body = await readBody(req);
    } catch (err) {
      if (err instanceof BodyTooLarge) {
        refuse(req, res, faults.tooLarge(MAX_XML_BYTES));
        res.on('finish', () => req.socket.destroy());
        return;
      }
      throw err;
    }
    let doc;
    try {
      doc = parseXml(body);
    } catch (err) {
      if (!(err instanceof XmlRefused)) throw err;
      refuse(req, res, err.reason === 'too-large' ? faults.tooLarge(MAX_XML_BYTES) : faults.wellFormed(err.reason === 'dtd' ? 'DTD not allowed' : err.message));
      return;
    }
    const root = elements(doc)[0];
    const rootScope = scopeOf(root?.[1]);
    if (!root || localName(root[0]) !== 'Envelope' || namespaceOf(root[0], rootScope) !== NS.soap) {
      refuse(req, res, faults.wellFormed(`not a SOAP 1.2 Envelope (root element ${root ? root[0] : 'missing'})`));
      return;
    }
    const bodyEl = child(root[1], 'Body');
    const action = elements(bodyEl?.node)[0];
    if (!bodyEl || !action) {
      refuse(req, res, faults.wellFormed('SOAP Envelope without a Body element'));
      return;
    }
    const actionNode = Array.isArray(action[1]) ? action[1][0] : action[1];
    const scope = scopeOf(actionNode, scopeOf(bodyEl.node, rootScope));
    const key = `${namespaceOf(action[0], scope)} ${localName(action[0])}`;
    const name = localName(action[0]);
    const operation = operations.get(key);
    if (!operation) {
      refuse(req, res, faults.actionNotSupported(`${namespaceOf(action[0], scope) || '(no namespace)'} ${name}`), name);
      return;
    }
    if (!UNAUTHENTICATED.has(key)) {
      const denied = verifier.check(child(root[1], 'Header')?.node);
      if (denied) {
        refuse(req, res, denied, name);
        return;
      }
    }
    try {
      answerSoap(res, 200, envelope(operation(actionNode)));
      logger.debug({ operation: `onvif ${name}` }, 'onvif request answered');
    } catch (err) {
      if (!(err instanceof SoapFault)) throw err;
      refuse(req, res, err, name);
    }
  };

  const handleSnapshot = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    if (!httpAuth.verify(req.method ?? 'GET', req.headers.authorization)) {
      res.writeHead(401, { 'www-authenticate': httpAuth.challenge(), 'content-type': 'text/plain' });
      res.end('401 Unauthorized: the snapshot needs the camera credentials (Digest or Basic)\n');
      return;
    }
    const jpeg = await opts.snapshot();
    res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': jpeg.length, 'cache-control': 'no-store' });
    res.end(jpeg);
  };

  const servicePaths = new Set<string>(Object.values(SERVICE_PATHS));
  const server = http.createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://camera').pathname;
    let handling: Promise<void>;
    if (servicePaths.has(pathname)) {
      if (req.method !== 'POST') {
        res.writeHead(405, { allow: 'POST', 'content-type': 'text/plain' }).end(`${req.method} not allowed on ${pathname}: SOAP needs POST\n`);
        return;
      }
      handling = handleSoap(req, res);
    } else if (pathname === SNAPSHOT_PATH && (req.method === 'GET' || req.method === 'HEAD')) handling = handleSnapshot(req, res);
    else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`no ${pathname} on this camera\n`);
      return;
    }
    handling.catch((err: unknown) => {
      logger.error({ operation: `onvif ${pathname}`, err }, 'onvif request failed');
      if (!res.headersSent) answerSoap(res, 500, new SoapFault(500, 'Receiver', [], `internal error: ${(err as Error).message}`).toXml());
      else res.destroy();
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: listenHost, port: opts.port ?? 0 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const advertised = opts.advertisedHost ?? (listenHost === '0.0.0.0' || listenHost === '::' ? '127.0.0.1' : listenHost);
  base = `http://${advertised.includes(':') ? `[${advertised}]` : advertised}:${port}`;
  return {
    port,
    get xaddrs() {
      return xaddrs();
    },
    snapshotUrl: base + SNAPSHOT_PATH,
    ptz,
    get malformed() {
      return state.malformed;
    },
    set malformed(on: boolean) {
      state.malformed = on;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
