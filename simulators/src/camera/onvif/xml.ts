/**
 * Safe XML reading for the ONVIF device and WS-Discovery: bounded size, no DTDs at all (so no
 * entity expansion and no external entities), fast-xml-parser with entity processing off, and
 * small helpers to walk a SOAP tree by namespace + local name.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';

export const MAX_XML_BYTES = 64 * 1024;
/**
 * SOAP messages this device understands have a few dozen elements. The parser's cost grows
 * faster than linearly with many siblings (6,000 take ~100 ms), so more markup than this is refused.
 */
export const MAX_XML_TAGS = 1024;

export class XmlRefused extends Error {
  constructor(
    readonly reason: 'too-large' | 'dtd' | 'malformed',
    message: string,
  ) {
    super(message);
  }
}

/** A parsed element: attributes under '@_name', text under '#text', children by qualified name. */
export type XmlNode = Record<string, unknown>;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  removeNSPrefix: false,
  processEntities: false,
  htmlEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  isArray: () => false,
});

/** Parses a SOAP document; refuses (XmlRefused) oversized input, any DTD, and malformed XML. */
export function parseXml(text: string): XmlNode {
  if (Buffer.byteLength(text) > MAX_XML_BYTES) throw new XmlRefused('too-large', `XML larger than ${MAX_XML_BYTES} bytes`);
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw new XmlRefused('dtd', 'DTD not allowed');
  let tags = 0;
  for (let i = text.indexOf('<'); i >= 0; i = text.indexOf('<', i + 1)) {
    if (++tags > MAX_XML_TAGS) throw new XmlRefused('too-large', `XML with more than ${MAX_XML_TAGS} tags`);
  }
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new XmlRefused('malformed', `malformed XML at line ${valid.err.line}, column ${valid.err.col}: ${valid.err.msg}`);
  try {
    return parser.parse(text) as XmlNode;
  } catch (err) {
    throw new XmlRefused('malformed', `XML not accepted: ${(err as Error).message}`);
  }
}

/** The five predefined XML entities and character references, the only ones a DTD-less document can use. */
export function unescapeXml(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos|#\d{1,7}|#x[0-9a-fA-F]{1,6});/g, (_, e: string) => {
    switch (e) {
      case 'lt':
        return '<';
      case 'gt':
        return '>';
      case 'amp':
        return '&';
      case 'quot':
        return '"';
      case 'apos':
        return "'";
    }
    const code = e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
    return code <= 0x10ffff ? String.fromCodePoint(code) : '';
  });
}

/** Escapes text and double-quoted attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}

export function localName(qname: string): string {
  const i = qname.indexOf(':');
  return i < 0 ? qname : qname.slice(i + 1);
}

/** Namespace declarations in scope: inherited ones overridden by the element's own xmlns attributes. */
export function scopeOf(node: unknown, inherited: ReadonlyMap<string, string> = new Map()): Map<string, string> {
  const scope = new Map(inherited);
  if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '@_xmlns') scope.set('', String(v));
      else if (k.startsWith('@_xmlns:')) scope.set(k.slice(8), String(v));
    }
  }
  return scope;
}

/** The namespace URI of a qualified name in a scope ('' when undeclared). */
export function namespaceOf(qname: string, scope: ReadonlyMap<string, string>): string {
  const i = qname.indexOf(':');
  return scope.get(i < 0 ? '' : qname.slice(0, i)) ?? '';
}

/** Child elements (not attributes or text) as [qualified name, node]. */
export function elements(node: unknown): [string, unknown][] {
  if (!node || typeof node !== 'object') return [];
  return Object.entries(node).filter(([k]) => !k.startsWith('@_') && !k.startsWith('?') && k !== '#text');
}

/** The first child with this local name (any prefix), and its name. */
export function child(node: unknown, local: string): { name: string; node: unknown } | undefined {
  for (const [name, value] of elements(node)) if (localName(name) === local) return { name, node: Array.isArray(value) ? value[0] : value };
  return undefined;
}

/** Follows a path of local names. */
export function path(node: unknown, ...locals: string[]): unknown {
  let at: unknown = node;
  for (const l of locals) {
    at = child(at, l)?.node;
    if (at === undefined) return undefined;
  }
  return at;
}

/** Text content of an element (unescaped), or undefined. */
export function text(node: unknown): string | undefined {
  if (node === undefined || node === null) return undefined;
  if (typeof node === 'string' || typeof node === 'number' || typeof node === 'boolean') return unescapeXml(String(node));
  if (typeof node === 'object' && '#text' in node) return unescapeXml(String((node as XmlNode)['#text']));
  if (typeof node === 'object') return '';
  return undefined;
}

/** An attribute of an element (by local name), unescaped. */
export function attr(node: unknown, local: string): string | undefined {
  if (!node || typeof node !== 'object') return undefined;
  for (const [k, v] of Object.entries(node)) if (k.startsWith('@_') && localName(k.slice(2)) === local) return unescapeXml(String(v));
  return undefined;
}
