/**
 * WS-Discovery (2005/04, as ONVIF uses it) target service: answers a Probe on UDP (port 3702 by
 * default) with a ProbeMatch carrying the device's XAddrs, scopes and a stable urn:uuid endpoint
 * reference, sent unicast to the prober. It matches a Probe without Types, or whose Types are all
 * among dn:NetworkVideoTransmitter and tds:Device (QNames resolved through their xmlns), and
 * whose Scopes (if any) each prefix one of the device's scopes. Joining the multicast group
 * 239.255.255.250 is opt-in. Oversized datagrams, DTDs and malformed XML are dropped silently.
 */
import { createHash, randomUUID } from 'node:crypto';
import dgram from 'node:dgram';
import type { Logger } from 'pino';
import { NS } from './soap.js';
import { XmlRefused, child, elements, escapeXml, localName, namespaceOf, parseXml, path, scopeOf, text } from './xml.js';

export const WS_DISCOVERY_MULTICAST = '239.255.255.250';
export const WS_DISCOVERY_PORT = 3702;
const PROBE_ACTION = 'http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe';
const MATCHES_ACTION = 'http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches';
const ANONYMOUS = 'http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous';
/** A Probe is a few hundred bytes; anything much bigger is not one. */
const MAX_DATAGRAM = 8 * 1024;

const DEVICE_TYPES = [
  { ns: NS.dn, local: 'NetworkVideoTransmitter' },
  { ns: NS.tds, local: 'Device' },
];

export interface DiscoveryOptions {
  /** Device id; the endpoint reference urn:uuid is derived from it, so it is stable across restarts. */
  id: string;
  xaddrs: () => string[];
  scopes: string[];
  host?: string;
  port?: number;
  /** Join 239.255.255.250 (real discovery on a LAN); default false. */
  multicast?: boolean;
  logger: Logger;
}

export interface DiscoveryResponder {
  readonly port: number;
  readonly endpoint: string;
  /** Probes answered and datagrams dropped, for tests and the control endpoint. */
  stats(): { answered: number; ignored: number; dropped: number };
  close(): Promise<void>;
}

/** urn:uuid from a name (SHA-1 based, RFC 4122 version 5 layout). */
export function stableUuid(name: string): string {
  const h = createHash('sha1').update(`quanlink-camera-sim:${name}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `urn:uuid:${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** RFC 3986 scope matching (WS-Discovery default), simplified: the probe scope equals the device's or is a whole-segment prefix of it. */
function scopeMatches(probe: string, device: string): boolean {
  const p = probe.replace(/\/+$/, '');
  return device === p || device.startsWith(`${p}/`);
}

export async function startDiscoveryResponder(opts: DiscoveryOptions): Promise<DiscoveryResponder> {
  const endpoint = stableUuid(opts.id);
  const counts = { answered: 0, ignored: 0, dropped: 0 };
  const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  const log = opts.logger;

  const answer = (probeXml: string): string | undefined => {
    let doc;
    try {
      doc = parseXml(probeXml);
    } catch (err) {
      if (err instanceof XmlRefused) return undefined;
      throw err;
    }
    const root = elements(doc)[0];
    if (!root || localName(root[0]) !== 'Envelope') return undefined;
    const rootScope = scopeOf(root[1]);
    const header = child(root[1], 'Header')?.node;
    const action = text(path(header, 'Action'))?.trim();
    const messageId = text(path(header, 'MessageID'))?.trim();
    const body = child(root[1], 'Body');
    const probe = child(body?.node, 'Probe');
    if (action !== PROBE_ACTION || !probe || !messageId) return undefined;
    const probeScope = scopeOf(probe.node, scopeOf(body!.node, rootScope));
    const typesEl = child(probe.node, 'Types');
    const wanted = (text(typesEl?.node) ?? '').split(/\s+/).filter(Boolean);
    const typesScope = scopeOf(typesEl?.node, probeScope);
    const typesOk = wanted.every((qname) => DEVICE_TYPES.some((t) => t.local === localName(qname) && t.ns === namespaceOf(qname, typesScope)));
    const scopesWanted = (text(path(probe.node, 'Scopes')) ?? '').split(/\s+/).filter(Boolean);
    const scopesOk = scopesWanted.every((s) => opts.scopes.some((d) => scopeMatches(s, d)));
    if (!typesOk || !scopesOk) return 'no-match';
    return `<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="${NS.soap}" xmlns:a="${NS.wsa}" xmlns:d="${NS.wsd}" xmlns:dn="${NS.dn}" xmlns:tds="${NS.tds}"><s:Header><a:MessageID>urn:uuid:${randomUUID()}</a:MessageID><a:RelatesTo>${escapeXml(messageId)}</a:RelatesTo><a:To>${ANONYMOUS}</a:To><a:Action>${MATCHES_ACTION}</a:Action></s:Header><s:Body><d:ProbeMatches><d:ProbeMatch><a:EndpointReference><a:Address>${endpoint}</a:Address></a:EndpointReference><d:Types>dn:NetworkVideoTransmitter tds:Device</d:Types><d:Scopes>${opts.scopes.map(escapeXml).join(' ')}</d:Scopes><d:XAddrs>${opts.xaddrs().map(escapeXml).join(' ')}</d:XAddrs><d:MetadataVersion>1</d:MetadataVersion></d:ProbeMatch></d:ProbeMatches></s:Body></s:Envelope>`;
  };

  socket.on('message', (msg, from) => {
    if (msg.length > MAX_DATAGRAM) {
      counts.dropped++;
      return;
    }
    let reply: string | undefined;
    try {
      reply = answer(msg.toString('utf8'));
    } catch (err) {
      log.warn({ operation: 'ws-discovery probe', from: from.address, err }, 'could not read a discovery datagram');
      reply = undefined;
    }
    if (reply === undefined) {
      counts.dropped++;
      return;
    }
    if (reply === 'no-match') {
      counts.ignored++;
      return;
    }
    counts.answered++;
    socket.send(reply, from.port, from.address, (err) => {
      if (err) log.warn({ operation: 'ws-discovery ProbeMatch', to: `${from.address}:${from.port}`, err }, 'could not answer a probe');
    });
  });
  socket.on('error', (err) => log.error({ operation: 'ws-discovery', err }, 'discovery socket error'));

  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ address: opts.multicast ? undefined : (opts.host ?? '127.0.0.1'), port: opts.port ?? WS_DISCOVERY_PORT }, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  if (opts.multicast) {
    try {
      socket.addMembership(WS_DISCOVERY_MULTICAST);
    } catch (err) {
      socket.close();
      throw new Error(`ws-discovery: cannot join ${WS_DISCOVERY_MULTICAST}: ${(err as Error).message}`);
    }
  }
  const port = socket.address().port;
  log.info({ operation: 'ws-discovery', port, multicast: opts.multicast === true, endpoint }, 'ws-discovery responder listening');
  return {
    port,
    endpoint,
    stats: () => ({ ...counts }),
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
