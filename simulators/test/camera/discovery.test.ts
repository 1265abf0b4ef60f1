/**
 * Issue 5: WS-Discovery probe/match over UDP (unicast to an ephemeral port), type and scope
 * matching, and hostile datagrams dropped silently.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { XMLParser } from 'fast-xml-parser';
import { startDiscoveryResponder, stableUuid, type DiscoveryResponder } from '../../src/camera/onvif/discovery.js';
import { capturingLogger } from '../helpers/modbus-clients.js';

const XADDR = 'http://127.0.0.1:8080/onvif/device_service';
const SCOPES = ['onvif://www.onvif.org/type/video_encoder', 'onvif://www.onvif.org/name/Quanlink_Sim', 'onvif://www.onvif.org/location/cam-7'];

/** A Probe as ONVIF clients send it (node-onvif's shape), with optional Types and Scopes. */
function probe(messageId: string, types?: string, scopes?: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"><s:Header><a:Action s:mustUnderstand="1">http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action><a:MessageID>${messageId}</a:MessageID><a:ReplyTo><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo><a:To s:mustUnderstand="1">urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To></s:Header><s:Body><Probe xmlns="http://schemas.xmlsoap.org/ws/2005/04/discovery">${types === undefined ? '' : `<d:Types xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:dp0="http://www.onvif.org/ver10/network/wsdl" xmlns:tds="http://www.onvif.org/ver10/device/wsdl">${types}</d:Types>`}${scopes === undefined ? '' : `<Scopes>${scopes}</Scopes>`}</Probe></s:Body></s:Envelope>`;
}

let responder: DiscoveryResponder;
let client: dgram.Socket;
const replies: { text: string }[] = [];

before(async () => {
  responder = await startDiscoveryResponder({ id: 'cam-7', xaddrs: () => [XADDR], scopes: SCOPES, host: '127.0.0.1', port: 0, logger: capturingLogger().logger });
  client = dgram.createSocket('udp4');
  client.on('message', (m) => replies.push({ text: m.toString('utf8') }));
  await new Promise<void>((r) => client.bind(0, '127.0.0.1', () => r()));
});
after(async () => {
  client.close();
  await responder.close();
});

async function send(datagram: string | Buffer, waitMs = 150): Promise<string[]> {
  replies.length = 0;
  await new Promise<void>((resolve, reject) => client.send(datagram, responder.port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
  await new Promise((r) => setTimeout(r, waitMs));
  return replies.map((r) => r.text);
}

describe('issue 5: WS-Discovery responder', () => {
  it('answers a NetworkVideoTransmitter probe with a ProbeMatch: XAddrs, scopes, stable urn:uuid, RelatesTo', async () => {
    const [reply, extra] = await send(probe('uuid:probe-1', 'dp0:NetworkVideoTransmitter'));
    assert.ok(reply, 'a ProbeMatch arrives');
    assert.equal(extra, undefined, 'exactly one');
    const parsed = new XMLParser({ removeNSPrefix: true }).parse(reply);
    const header = parsed.Envelope.Header;
    const match = parsed.Envelope.Body.ProbeMatches.ProbeMatch;
    assert.equal(header.Action, 'http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches');
    assert.equal(header.RelatesTo, 'uuid:probe-1');
    assert.equal(match.XAddrs, XADDR);
    assert.equal(match.Scopes, SCOPES.join(' '));
    assert.match(match.Types, /dn:NetworkVideoTransmitter/);
    assert.equal(match.EndpointReference.Address, responder.endpoint);
    assert.equal(responder.endpoint, stableUuid('cam-7'), 'derived from the id: the same after a restart');
    assert.match(responder.endpoint, /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('matches a probe without types and with a matching scope; ignores other types and scopes', async () => {
    assert.equal((await send(probe('uuid:p2'))).length, 1, 'no Types: any device');
    assert.equal((await send(probe('uuid:p3', 'tds:Device', 'onvif://www.onvif.org/location'))).length, 1, 'tds:Device and a scope prefix');
    assert.equal((await send(probe('uuid:p4', 'dp0:NetworkVideoDisplay'))).length, 0, 'not a display');
    assert.equal((await send(probe('uuid:p5', 'dp0:Device'))).length, 0, 'Device in the network namespace is not tds:Device');
    assert.equal((await send(probe('uuid:p6', 'undeclared:NetworkVideoTransmitter'))).length, 0, 'an undeclared prefix matches nothing');
    assert.equal((await send(probe('uuid:p7', undefined, 'onvif://www.onvif.org/location/elsewhere'))).length, 0, 'another location');
    assert.ok(responder.stats().ignored >= 4);
  });

  it("node-onvif's startProbe() finds the device (probes sent unicast to the responder's port)", async () => {
    // node-onvif always probes 239.255.255.250:3702; point its (module-private) target at the responder instead.
    const onvif = createRequire(import.meta.url)('node-onvif') as { startProbe(): Promise<any[]>; _MULTICAST_ADDRESS: string; _PORT: number; _DISCOVERY_WAIT: number };
    Object.assign(onvif, { _MULTICAST_ADDRESS: '127.0.0.1', _PORT: responder.port, _DISCOVERY_WAIT: 600 });
    const found = await onvif.startProbe();
    assert.equal(found.length, 1, 'one device, however many probes it answered');
    assert.deepEqual([found[0].urn, found[0].xaddrs, found[0].name], [responder.endpoint, [XADDR], 'Quanlink Sim']);
  });

  it('drops DTDs, malformed XML, non-probes and oversized datagrams silently, and keeps answering', async () => {
    const dropped = responder.stats().dropped;
    const dtd = `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "${'a'.repeat(100)}"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>${probe('uuid:evil', 'dp0:NetworkVideoTransmitter').replace(/^<\?xml[^>]*>/, '')}`;
    assert.equal((await send(dtd)).length, 0);
    assert.equal((await send('<s:Envelope><broken')).length, 0);
    assert.equal((await send(probe('uuid:x').replace('discovery/Probe<', 'discovery/Hello<'))).length, 0);
    assert.equal((await send(Buffer.alloc(9000, 0x20))).length, 0);
    assert.equal(responder.stats().dropped - dropped, 4);
    assert.equal((await send(probe('uuid:after', 'dp0:NetworkVideoTransmitter'))).length, 1);
  });
});
