/**
 * SOAP 1.2 envelopes and faults as an ONVIF device writes them.
 * HTTP status of a fault follows the SOAP 1.2 HTTP binding and ONVIF Core: a Sender fault is
 * 400 (NotAuthorized included, which node-onvif reports as "400 Bad Request - Sender not
 * Authorized"), a Receiver fault (ActionNotSupported) is 500.
 */
import { escapeXml } from './xml.js';

export const NS = {
  soap: 'http://www.w3.org/2003/05/soap-envelope',
  tds: 'http://www.onvif.org/ver10/device/wsdl',
  trt: 'http://www.onvif.org/ver10/media/wsdl',
  tptz: 'http://www.onvif.org/ver20/ptz/wsdl',
  tt: 'http://www.onvif.org/ver10/schema',
  ter: 'http://www.onvif.org/ver10/error',
  dn: 'http://www.onvif.org/ver10/network/wsdl',
  wsa: 'http://schemas.xmlsoap.org/ws/2004/08/addressing',
  wsd: 'http://schemas.xmlsoap.org/ws/2005/04/discovery',
  wsse: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd',
  wsu: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd',
} as const;

export const PASSWORD_DIGEST_TYPE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest';

const DECLARATIONS = Object.entries(NS)
  .map(([prefix, uri]) => `xmlns:${prefix === 'soap' ? 's' : prefix}="${uri}"`)
  .join(' ');

export function envelope(body: string, header = ''): string {
  return `<?xml version="1.0" encoding="UTF-8"?><s:Envelope ${DECLARATIONS}>${header ? `<s:Header>${header}</s:Header>` : ''}<s:Body>${body}</s:Body></s:Envelope>`;
}

/** A SOAP fault the device answers with, and the HTTP status it goes with. */
export class SoapFault extends Error {
  constructor(
    readonly status: number,
    readonly code: 'Sender' | 'Receiver',
    /** ONVIF subcodes, outermost first, e.g. ['ter:NotAuthorized'] or ['ter:InvalidArgVal', 'ter:NoProfile']. */
    readonly subcodes: string[],
    readonly reason: string,
  ) {
    super(reason);
  }

  toXml(): string {
    const sub = this.subcodes.reduceRight((inner, code) => `<s:Subcode><s:Value>${code}</s:Value>${inner}</s:Subcode>`, '');
    return envelope(`<s:Fault><s:Code><s:Value>s:${this.code}</s:Value>${sub}</s:Code><s:Reason><s:Text xml:lang="en">${escapeXml(this.reason)}</s:Text></s:Reason></s:Fault>`);
  }
}

export const faults = {
  notAuthorized: (why: string) => new SoapFault(400, 'Sender', ['ter:NotAuthorized'], `Sender not Authorized: ${why}`),
  actionNotSupported: (action: string) => new SoapFault(500, 'Receiver', ['ter:ActionNotSupported'], `Optional Action Not Implemented: ${action}`),
  wellFormed: (why: string) => new SoapFault(400, 'Sender', ['ter:WellFormed'], why),
  tooLarge: (limit: number) => new SoapFault(413, 'Sender', ['ter:WellFormed'], `SOAP message larger than ${limit} bytes`),
  invalidArg: (subcode: string, why: string) => new SoapFault(400, 'Sender', ['ter:InvalidArgVal', subcode], why),
};
