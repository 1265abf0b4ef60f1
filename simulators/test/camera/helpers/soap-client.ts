/** A raw SOAP 1.2 client for the camera tests: builds envelopes with a WS-Security digest and posts them. */
import { createHash, randomBytes } from 'node:crypto';

export const NS_DECL =
  'xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:tds="http://www.onvif.org/ver10/device/wsdl" xmlns:trt="http://www.onvif.org/ver10/media/wsdl" xmlns:tptz="http://www.onvif.org/ver20/ptz/wsdl" xmlns:tt="http://www.onvif.org/ver10/schema"';

export interface TokenOptions {
  username: string;
  password: string;
  created?: string;
  nonce?: Buffer;
  /** Send the password as PasswordText instead of a digest. */
  plainText?: boolean;
}

export function usernameToken(o: TokenOptions): string {
  const nonce = o.nonce ?? randomBytes(16);
  const created = o.created ?? new Date().toISOString();
  const digest = createHash('sha1').update(Buffer.concat([nonce, Buffer.from(created), Buffer.from(o.password)])).digest('base64');
  const type = o.plainText ? 'PasswordText' : 'PasswordDigest';
  return `<wsse:Security s:mustUnderstand="1" xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"><wsse:UsernameToken><wsse:Username>${o.username}</wsse:Username><wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#${type}">${o.plainText ? o.password : digest}</wsse:Password><wsse:Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">${nonce.toString('base64')}</wsse:Nonce><wsu:Created>${created}</wsu:Created></wsse:UsernameToken></wsse:Security>`;
}

export function soapEnvelope(body: string, token?: TokenOptions | string): string {
  const header = token === undefined ? '' : typeof token === 'string' ? token : usernameToken(token);
  return `<?xml version="1.0" encoding="UTF-8"?><s:Envelope ${NS_DECL}><s:Header>${header}</s:Header><s:Body>${body}</s:Body></s:Envelope>`;
}

export async function postSoap(url: string, xml: string | Buffer): Promise<{ status: number; text: string; ms: number }> {
  const started = performance.now();
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/soap+xml; charset=utf-8' }, body: xml });
  const text = await res.text();
  return { status: res.status, text, ms: performance.now() - started };
}
